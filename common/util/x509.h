/*
 * x509.h - keys, certificates and revocation lists on OpenSSL 3: what a
 * small certificate authority and its users need, and nothing of sitesys
 *
 * Keys are ECDSA P-256. Files are PEM. A private key is written with mode
 * 0600 and is refused when its file can be read by group or others.
 * Functions that can fail say why in err (len bytes), one line, and
 * return NULL or -1; a file that cannot be used is named first, as
 * "\"PATH\": reason".
 */
#ifndef SITESYS_X509_H
#define SITESYS_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* room for a serial number in hex (up to 20 octets) and its NUL */
#define X509_SERIAL_HEX_LEN 41
/* room for a SHA-256 fingerprint in hex and its NUL */
#define X509_FINGERPRINT_LEN 65
/* room for an ECDSA P-256 signature (DER, at most 72 bytes) in base64 */
#define X509_SIGNATURE_LEN 100

/* What a new certificate says of its subject. */
struct x509_subject {
	const char *cn; /* commonName */
	const char *ou; /* organizationalUnitName, or NULL */
	const char *dns; /* the subjectAltName's one name, or NULL: a DNS
			    name, or an IP address when it parses as one */
	bool ca; /* a CA: may sign certificates and CRLs */
	int days; /* valid from now for this many days */
};

/* x509_key_new - a new ECDSA P-256 key, or NULL with why */
EVP_PKEY *x509_key_new(char *err, size_t len);

/*
 * x509_key_save - write key to path, which must not exist, with mode 0600,
 * durably; 0, or -1 with why (and no file left behind)
 */
int x509_key_save(const char *path, EVP_PKEY *key, char *err, size_t len);

/*
 * x509_key_load - the key in path; NULL with why, also when the file can
 * be read by group or others
 */
EVP_PKEY *x509_key_load(const char *path, char *err, size_t len);

/*
 * x509_cert_make - a certificate of subject for key, signed by issuer_key
 * as issuer (self-signed by key when issuer is NULL), with a random serial
 * number; NULL with why
 */
X509 *x509_cert_make(const struct x509_subject *subject, EVP_PKEY *key,
    X509 *issuer, EVP_PKEY *issuer_key, char *err, size_t len);

/*
 * x509_cert_save - write cert to path, which must not exist, with mode
 * 0644, durably; 0, or -1 with why (and no file left behind)
 */
int x509_cert_save(const char *path, X509 *cert, char *err, size_t len);

/* x509_cert_load - the certificate in path, or NULL with why */
X509 *x509_cert_load(const char *path, char *err, size_t len);

/* x509_cert_pem - cert as PEM text (malloc'd), or NULL out of memory */
char *x509_cert_pem(X509 *cert);

/* x509_cert_parse - the certificate in PEM text of n bytes, or NULL why */
X509 *x509_cert_parse(const char *pem, size_t n, char *err, size_t len);

/*
 * x509_sign - key's signature of data (n bytes) with SHA-256, DER in
 * base64, into out; 0, or -1 with why
 */
int x509_sign(EVP_PKEY *key, const void *data, size_t n,
    char out[X509_SIGNATURE_LEN], char *err, size_t len);

/*
 * x509_verify - whether sig (as x509_sign writes it) is the signature of
 * data by cert's key: 1 yes; 0 no, with why; -1 on failure, with why
 */
int x509_verify(X509 *cert, const void *data, size_t n, const char *sig,
    char *err, size_t len);

/* x509_cert_has_key - whether cert is the certificate of private key */
bool x509_cert_has_key(X509 *cert, EVP_PKEY *key);

/* x509_serial - the serial number of cert in upper-case hex into out */
void x509_serial(X509 *cert, char out[X509_SERIAL_HEX_LEN]);

/* x509_fingerprint - the SHA-256 of cert's DER in lower-case hex */
void x509_fingerprint(X509 *cert, char out[X509_FINGERPRINT_LEN]);

/*
 * x509_sha256_hex - the SHA-256 of len bytes of data in lower-case hex
 * (what a certificate's fingerprint is of its DER form); "" if OpenSSL
 * fails
 */
void x509_sha256_hex(
    const void *data, size_t len, char out[X509_FINGERPRINT_LEN]);

/*
 * x509_pem_fingerprint - the SHA-256 in lower-case hex of the DER in the
 * first PEM CERTIFICATE of pem (n bytes), without parsing it: for a
 * certificate as OpenSSL writes it, what x509_fingerprint gives, at a
 * hundredth of the cost of x509_cert_parse. That the DER is a certificate
 * is not checked: use it to look up fingerprints taken from parsed
 * certificates. 0, or -1 with why when pem holds no CERTIFICATE.
 */
int x509_pem_fingerprint(const char *pem, size_t n,
    char out[X509_FINGERPRINT_LEN], char *err, size_t len);

/* x509_cn - cert's subject commonName into out (len bytes); "" if none */
void x509_cn(X509 *cert, char *out, size_t len);

/* x509_ou - the same for organizationalUnitName */
void x509_ou(X509 *cert, char *out, size_t len);

/* x509_not_after - when cert expires, seconds since the epoch */
time_t x509_not_after(X509 *cert);

/* One revoked certificate, for x509_crl_save. */
struct x509_revoked {
	char serial[X509_SERIAL_HEX_LEN]; /* hex, as x509_serial gives */
	time_t when;
};

/*
 * x509_crl_save - write to path (replacing it, atomically and durably) a
 * CRL of ca, signed by key, listing the n revoked, numbered number, valid
 * for days; 0, or -1 with why
 */
int x509_crl_save(const char *path, X509 *ca, EVP_PKEY *key,
    const struct x509_revoked *revoked, size_t n, long number, int days,
    char *err, size_t len);

#endif
