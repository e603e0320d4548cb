/* x509.c - keys, certificates and revocation lists on OpenSSL 3 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsio.h"
#include "x509.h"

/* what, and OpenSSL's first queued error, into err; NULL or -1 follows */
static void
x509_why(char *err, size_t len, const char *what)
{
	unsigned long e = ERR_get_error();
	char ssl[256] = "";

	if (e != 0)
		ERR_error_string_n(e, ssl, sizeof(ssl));
	ERR_clear_error();
	snprintf(err, len, "%s%s%s", what, e ? ": " : "", ssl);
}

EVP_PKEY *
x509_key_new(char *err, size_t len)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (key == NULL)
		x509_why(err, len, "could not make a P-256 key");
	return key;
}

/* A memory BIO to write PEM text into; NULL with why. */
static BIO *
x509_bio(char *err, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (bio == NULL)
		x509_why(err, len, "out of memory");
	return bio;
}

/* Write data to a new file path with mode, durably; 0 or -1 with why. */
static int
x509_write_new(const char *path, mode_t mode, const char *data, long n,
    char *err, size_t len)
{
	char dir[PATH_MAX];
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) ==
	    -1) {
		snprintf(err, len, "could not create \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) == -1 || fsio_write_all(fd, data, (size_t)n) ||
	    fsync(fd) == -1) {
		snprintf(err, len, "could not write \"%s\": %s", path,
		    strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, len, "could not write \"%s\": %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if (fsio_sync_dir(dirname(dir)) == -1) {
		snprintf(err, len,
		    "could not flush the directory of \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Encode obj as PEM with encode and write it to the new file path with
 * mode; kind names it in messages; 0, or -1 with why
 */
static int
x509_save(const char *path, mode_t mode, int (*encode)(BIO *, void *),
    void *obj, const char *kind, char *err, size_t len)
{
	BIO *bio = x509_bio(err, len);
	char *data, what[64];
	long n;
	int rc = -1;

	if (bio == NULL)
		return -1;
	if (!encode(bio, obj) || (n = BIO_get_mem_data(bio, &data)) <= 0) {
		snprintf(what, sizeof(what), "could not encode the %s", kind);
		x509_why(err, len, what);
	} else {
		rc = x509_write_new(path, mode, data, n, err, len);
	}
	BIO_free(bio);
	return rc;
}

static int
x509_encode_key(BIO *bio, void *key)
{
	return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

static int
x509_encode_cert(BIO *bio, void *cert)
{
	return PEM_write_bio_X509(bio, cert);
}

int
x509_key_save(const char *path, EVP_PKEY *key, char *err, size_t len)
{
	return x509_save(path, 0600, x509_encode_key, key, "key", err, len);
}

int
x509_cert_save(const char *path, X509 *cert, char *err, size_t len)
{
	return x509_save(
	    path, 0644, x509_encode_cert, cert, "certificate", err, len);
}

/*
 * Read path with decode; a secret file is refused when group or others
 * may read it; kind names what it holds in messages; NULL with why
 */
static void *
x509_load(const char *path, bool secret, void *(*decode)(FILE *),
    const char *kind, char *err, size_t len)
{
	struct stat st;
	FILE *fp = fopen(path, "re");
	char what[PATH_MAX + 32];
	void *obj;

	if (fp == NULL) {
		snprintf(err, len, "\"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (secret && fstat(fileno(fp), &st) == 0 &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, len,
		    "\"%s\": a private key must not be readable by group or "
		    "others (mode %03o)",
		    path, (unsigned)(st.st_mode & 0777));
		fclose(fp);
		return NULL;
	}
	obj = decode(fp);
	fclose(fp);
	if (obj == NULL) {
		snprintf(
		    what, sizeof(what), "\"%s\": not a PEM %s", path, kind);
		x509_why(err, len, what);
	}
	return obj;
}

static void *
x509_decode_key(FILE *fp)
{
	return PEM_read_PrivateKey(fp, NULL, NULL, NULL);
}

static void *
x509_decode_cert(FILE *fp)
{
	return PEM_read_X509(fp, NULL, NULL, NULL);
}

EVP_PKEY *
x509_key_load(const char *path, char *err, size_t len)
{
	return x509_load(path, true, x509_decode_key, "key", err, len);
}

X509 *
x509_cert_load(const char *path, char *err, size_t len)
{
	return x509_load(
	    path, false, x509_decode_cert, "certificate", err, len);
}

/* Add the extension nid with value (openssl's config syntax); 0 or -1. */
static int
x509_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext != NULL && X509_add_ext(cert, ext, -1);

	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* Whether name is an IPv4 or IPv6 address. */
static bool
x509_is_ip(const char *name)
{
	unsigned char raw[16];

	return inet_pton(AF_INET, name, raw) == 1 ||
	    inet_pton(AF_INET6, name, raw) == 1;
}

/* The extensions of a CA or of a site system's certificate; 0 or -1. */
static int
x509_exts(X509 *cert, X509 *issuer, const struct x509_subject *s)
{
	X509V3_CTX ctx;
	char san[300];

	X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
	if (x509_ext(cert, &ctx, NID_subject_key_identifier, "hash") == -1 ||
	    x509_ext(
	        cert, &ctx, NID_authority_key_identifier, "keyid:always") == -1)
		return -1;
	if (s->ca)
		return x509_ext(cert, &ctx, NID_basic_constraints,
		           "critical,CA:TRUE") == -1 ||
		        x509_ext(cert, &ctx, NID_key_usage,
		            "critical,keyCertSign,cRLSign") == -1
		    ? -1
		    : 0;
	if (x509_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") ==
	        -1 ||
	    x509_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature") ==
	        -1 ||
	    x509_ext(cert, &ctx, NID_ext_key_usage, "serverAuth,clientAuth") ==
	        -1)
		return -1;
	if (s->dns == NULL)
		return 0;
	if (snprintf(san, sizeof(san), "%s:%s",
	        x509_is_ip(s->dns) ? "IP" : "DNS", s->dns) >= (int)sizeof(san))
		return -1;
	return x509_ext(cert, &ctx, NID_subject_alt_name, san);
}

/* Subject, validity, a random 127-bit serial and the key; 0 or -1. */
static int
x509_fill(X509 *cert, const struct x509_subject *s, EVP_PKEY *key)
{
	X509_NAME *name = X509_get_subject_name(cert);
	BIGNUM *bn = BN_new();
	int ok;

	ok = bn != NULL && BN_rand(bn, 127, BN_RAND_TOP_ANY, 0) &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok && X509_set_version(cert, 2) &&
	        X509_gmtime_adj(X509_getm_notBefore(cert), -300) &&
	        X509_time_adj_ex(X509_getm_notAfter(cert), s->days, 0, NULL) &&
	        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	            (const unsigned char *)s->cn, -1, -1, 0) &&
	        (s->ou == NULL ||
	            X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
	                (const unsigned char *)s->ou, -1, -1, 0)) &&
	        X509_set_pubkey(cert, key)
	    ? 0
	    : -1;
}

X509 *
x509_cert_make(const struct x509_subject *subject, EVP_PKEY *key, X509 *issuer,
    EVP_PKEY *issuer_key, char *err, size_t len)
{
	X509 *cert = X509_new();

	if (cert == NULL || x509_fill(cert, subject, key) == -1 ||
	    !X509_set_issuer_name(
	        cert, X509_get_subject_name(issuer ? issuer : cert)) ||
	    x509_exts(cert, issuer, subject) == -1 ||
	    !X509_sign(cert, issuer ? issuer_key : key, EVP_sha256())) {
		x509_why(err, len, "could not make the certificate");
		X509_free(cert);
		return NULL;
	}
	return cert;
}

char *
x509_cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long n;

	if (bio != NULL && PEM_write_bio_X509(bio, cert) &&
	    (n = BIO_get_mem_data(bio, &data)) > 0 &&
	    (pem = malloc((size_t)n + 1)) != NULL) {
		memcpy(pem, data, (size_t)n);
		pem[n] = '\0';
	}
	BIO_free(bio);
	return pem;
}

X509 *
x509_cert_parse(const char *pem, size_t n, char *err, size_t len)
{
	BIO *bio = n <= INT_MAX ? BIO_new_mem_buf(pem, (int)n) : NULL;
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	if (cert == NULL)
		x509_why(err, len, "not a PEM certificate");
	BIO_free(bio);
	return cert;
}

int
x509_sign(EVP_PKEY *key, const void *data, size_t n,
    char out[X509_SIGNATURE_LEN], char *err, size_t len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[80];
	size_t siglen = sizeof(sig);
	int ok;

	ok = md != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, sig, &siglen, data, n) == 1 &&
	    4 * ((siglen + 2) / 3) < X509_SIGNATURE_LEN;
	EVP_MD_CTX_free(md);
	if (!ok) {
		x509_why(err, len, "could not sign");
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
	return 0;
}

int
x509_verify(X509 *cert, const void *data, size_t n, const char *sig, char *err,
    size_t len)
{
	unsigned char raw[X509_SIGNATURE_LEN];
	size_t b64 = strlen(sig);
	EVP_MD_CTX *md;
	int rawlen, rc;

	/* base64 of at most 72 bytes; '=' padding is decoded as zeros */
	if (b64 == 0 || b64 % 4 != 0 || b64 >= X509_SIGNATURE_LEN ||
	    (rawlen = EVP_DecodeBlock(
	         raw, (const unsigned char *)sig, (int)b64)) < 0) {
		snprintf(err, len, "the signature is not base64");
		return 0;
	}
	rawlen -=
	    (b64 > 0 && sig[b64 - 1] == '=') + (b64 > 1 && sig[b64 - 2] == '=');
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(
	        md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) != 1) {
		EVP_MD_CTX_free(md);
		x509_why(err, len, "could not verify");
		return -1;
	}
	rc = EVP_DigestVerify(md, raw, (size_t)rawlen, data, n);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (rc != 1) {
		snprintf(err, len,
		    "the signature does not match the "
		    "certificate's key");
		return 0;
	}
	return 1;
}

bool
x509_cert_has_key(X509 *cert, EVP_PKEY *key)
{
	bool ok = X509_check_private_key(cert, key) == 1;

	ERR_clear_error();
	return ok;
}

void
x509_serial(X509 *cert, char out[X509_SERIAL_HEX_LEN])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	snprintf(out, X509_SERIAL_HEX_LEN, "%s", hex ? hex : "");
	OPENSSL_free(hex);
	BN_free(bn);
}

/* A SHA-256 digest md (n bytes) in lower-case hex into out. */
static void
x509_hex(
    const unsigned char *md, unsigned int n, char out[X509_FINGERPRINT_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < n && 2 * i + 2 < X509_FINGERPRINT_LEN; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[2 * i] = '\0';
}

void
x509_fingerprint(X509 *cert, char out[X509_FINGERPRINT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &n))
		x509_hex(md, n, out);
}

void
x509_sha256_hex(const void *data, size_t len, char out[X509_FINGERPRINT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	out[0] = '\0';
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
		x509_hex(md, n, out);
}

/*
 * The base64 text from s to e, whitespace left out, decoded into out,
 * which holds 2 * (e - s) bytes (the text, then what it decodes to); the
 * length of what it decodes to, moved to the start of out; or -1.
 */
static long
x509_base64(const char *s, const char *e, unsigned char *out)
{
	size_t k = 0;
	int n, pad;

	for (; s < e; s++)
		if (!isspace((unsigned char)*s))
			out[k++] = (unsigned char)*s;
	if (k == 0 || k % 4 != 0 || k > INT_MAX)
		return -1;
	pad = (out[k - 1] == '=') + (out[k - 2] == '=');
	if ((n = EVP_DecodeBlock(out + k, out, (int)k)) < pad)
		return -1;
	memmove(out, out + k, (size_t)(n - pad));
	return n - pad;
}

int
x509_pem_fingerprint(const char *pem, size_t n, char out[X509_FINGERPRINT_LEN],
    char *err, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----",
	                  end[] = "-----END CERTIFICATE-----";
	const char *b = memmem(pem, n, begin, sizeof(begin) - 1), *e = NULL;
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	long derlen = -1;

	/* by hand: OpenSSL 3.0's PEM reading makes memory BIOs, each of which
	 * takes a global lock that request threads then fight over */
	if (b != NULL) {
		b += sizeof(begin) - 1;
		e = memmem(b, n - (size_t)(b - pem), end, sizeof(end) - 1);
	}
	if (e != NULL && (der = malloc(2 * (size_t)(e - b) + 1)) != NULL)
		derlen = x509_base64(b, e, der);
	out[0] = '\0';
	if (derlen > 0 &&
	    EVP_Digest(der, (size_t)derlen, md, &mdlen, EVP_sha256(), NULL))
		x509_hex(md, mdlen, out);
	free(der);
	if (out[0] == '\0') {
		x509_why(err, len, "not a PEM certificate");
		return -1;
	}
	return 0;
}

/* The first entry nid of cert's subject into out. */
static void
x509_entry(X509 *cert, int nid, char *out, size_t len)
{
	if (X509_NAME_get_text_by_NID(
	        X509_get_subject_name(cert), nid, out, (int)len) < 0 &&
	    len > 0)
		out[0] = '\0';
}

void
x509_cn(X509 *cert, char *out, size_t len)
{
	x509_entry(cert, NID_commonName, out, len);
}

void
x509_ou(X509 *cert, char *out, size_t len)
{
	x509_entry(cert, NID_organizationalUnitName, out, len);
}

time_t
x509_not_after(X509 *cert)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		return 0;
	return timegm(&tm);
}

/* One entry of the CRL; 0 or -1. */
static int
x509_crl_add(X509_CRL *crl, const struct x509_revoked *r)
{
	X509_REVOKED *rev = X509_REVOKED_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = ASN1_TIME_set(NULL, r->when);
	int ok = rev != NULL && when != NULL && BN_hex2bn(&bn, r->serial) &&
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    X509_REVOKED_set_serialNumber(rev, serial) &&
	    X509_REVOKED_set_revocationDate(rev, when) &&
	    X509_CRL_add0_revoked(crl, rev);

	if (!ok)
		X509_REVOKED_free(rev);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	BN_free(bn);
	return ok ? 0 : -1;
}

/* The CRL, signed; NULL if OpenSSL failed. */
static X509_CRL *
x509_crl_make(X509 *ca, EVP_PKEY *key, const struct x509_revoked *revoked,
    size_t n, long number, int days)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *now = ASN1_TIME_set(NULL, time(NULL));
	ASN1_TIME *next = ASN1_TIME_adj(NULL, time(NULL), days, 0);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	int ok = crl != NULL && now != NULL && next != NULL && num != NULL &&
	    X509_CRL_set_version(crl, 1) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
	    X509_CRL_set1_lastUpdate(crl, now) &&
	    X509_CRL_set1_nextUpdate(crl, next) &&
	    ASN1_INTEGER_set(num, number) &&
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0);

	for (size_t i = 0; ok && i < n; i++)
		ok = x509_crl_add(crl, &revoked[i]) == 0;
	ok = ok && X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256());
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	if (!ok) {
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

int
x509_crl_save(const char *path, X509 *ca, EVP_PKEY *key,
    const struct x509_revoked *revoked, size_t n, long number, int days,
    char *err, size_t len)
{
	X509_CRL *crl = x509_crl_make(ca, key, revoked, n, number, days);
	char tmp[PATH_MAX], *data;
	BIO *bio = NULL;
	long size;
	int rc = -1;

	if (crl == NULL) {
		x509_why(err, len, "could not make the revocation list");
		return -1;
	}
	if ((bio = x509_bio(err, len)) == NULL)
		goto out;
	if (!PEM_write_bio_X509_CRL(bio, crl) ||
	    (size = BIO_get_mem_data(bio, &data)) <= 0) {
		x509_why(err, len, "could not encode the revocation list");
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, len, "\"%s\": the path is too long", path);
		goto out;
	}
	if (fsio_replace(path, tmp, data, (size_t)size, 0644) == -1)
		snprintf(err, len, "could not write \"%s\": %s", path,
		    strerror(errno));
	else
		rc = 0;
out:
	BIO_free(bio);
	X509_CRL_free(crl);
	return rc;
}
