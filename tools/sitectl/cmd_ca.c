/*
 * cmd_ca.c - sitectl ca: the site's certificate authority, in [ca] dir:
 *
 *   ca.key ca.crt ca.crl     the CA's key (0600), certificate and CRL
 *   issued/FQDN.key .crt     a site system's key (0600) and certificate
 *   revoked/SERIAL.crt       a revoked certificate; its mtime is when
 */
#include <ctype.h>
#include <fcntl.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "location/location.h"
#include "sitectl.h"
#include "util/clock.h"
#include "util/conf.h"
#include "util/fsio.h"
#include "util/x509.h"

#define CA_DAYS 3650 /* the CA's own certificate */
#define CA_MAX_CERTS 100000

/* The CA's directory and the paths in it. */
struct ca {
	const struct conf *cf;
	char dir[PATH_MAX], key[PATH_MAX], crt[PATH_MAX], crl[PATH_MAX];
	char issued[PATH_MAX], revoked[PATH_MAX];
};

/* One certificate the CA issued, as ca list shows it. */
struct ca_cert {
	char fqdn[256], role[64], serial[X509_SERIAL_HEX_LEN];
	time_t not_after, revoked; /* revoked: 0 if not */
};

/* Fill in the paths under [ca] dir; -1 (said) if one is too long. */
static int
ca_paths(struct ca *ca, const struct conf *cf)
{
	const char *dir = conf_str(cf, "ca", "dir");

	ca->cf = cf;
	if (snprintf(ca->dir, sizeof(ca->dir), "%s", dir) >=
	        (int)sizeof(ca->dir) ||
	    fsio_join(ca->key, sizeof(ca->key), dir, "ca.key") == -1 ||
	    fsio_join(ca->crt, sizeof(ca->crt), dir, "ca.crt") == -1 ||
	    fsio_join(ca->crl, sizeof(ca->crl), dir, "ca.crl") == -1 ||
	    fsio_join(ca->issued, sizeof(ca->issued), dir, "issued") == -1 ||
	    fsio_join(ca->revoked, sizeof(ca->revoked), dir, "revoked") == -1) {
		ctl_err("[ca] dir \"%s\": the path is too long", dir);
		return -1;
	}
	return 0;
}

/* dir/name.ext into out; -1 (said) if too long. */
static int
ca_file(char out[PATH_MAX], const char *dir, const char *name, const char *ext)
{
	char base[NAME_MAX + 1];

	if (snprintf(base, sizeof(base), "%s%s", name, ext) >=
	        (int)sizeof(base) ||
	    fsio_join(out, PATH_MAX, dir, base) == -1) {
		ctl_err("\"%s%s\": the name is too long", name, ext);
		return -1;
	}
	return 0;
}

/* 0 if there is a CA, else -1 (said). */
static int
ca_exists(const struct ca *ca)
{
	if (access(ca->crt, F_OK) == -1 && errno == ENOENT) {
		ctl_err("no site CA in \"%s\": make one with \"sitectl ca "
		        "init\"",
		    ca->dir);
		return -1;
	}
	return 0;
}

/* The CA's key and certificate; -1 (said) when there is no CA. */
static int
ca_load(const struct ca *ca, EVP_PKEY **key, X509 **crt)
{
	char err[PATH_MAX + 256];

	*key = NULL;
	if (ca_exists(ca) == -1)
		return -1;
	if ((*key = x509_key_load(ca->key, err, sizeof(err))) == NULL ||
	    (*crt = x509_cert_load(ca->crt, err, sizeof(err))) == NULL) {
		EVP_PKEY_free(*key);
		ctl_err("%s", err);
		return -1;
	}
	return 0;
}

/* Keep the list of certificate files of dir in *names; their count or -1.
 */
static int
ca_scan(const char *dir, struct dirent ***names)
{
	int n = scandir(dir, names, NULL, alphasort);

	if (n == -1)
		ctl_err("could not list \"%s\": %s", dir, strerror(errno));
	return n;
}

/* Whether name ends in ".crt" (and is not just that). */
static bool
ca_is_crt(const char *name)
{
	size_t len = strlen(name);

	return len > 4 && strcmp(name + len - 4, ".crt") == 0;
}

/* What ca list shows of the certificate dir/name; 0, or -1 (said). */
static int
ca_read(const char *dir, const char *name, bool revoked, struct ca_cert *c)
{
	char path[PATH_MAX], err[PATH_MAX + 256];
	struct stat st;
	X509 *x;

	if (fsio_join(path, sizeof(path), dir, name) == -1) {
		ctl_err("\"%s\": the path is too long", name);
		return -1;
	}
	if ((x = x509_cert_load(path, err, sizeof(err))) == NULL) {
		ctl_err("%s", err);
		return -1;
	}
	x509_cn(x, c->fqdn, sizeof(c->fqdn));
	x509_ou(x, c->role, sizeof(c->role));
	x509_serial(x, c->serial);
	c->not_after = x509_not_after(x);
	c->revoked = revoked && stat(path, &st) == 0 ? st.st_mtime : 0;
	X509_free(x);
	return 0;
}

/*
 * Append the certificates of dir (revoked ones if revoked) to certs, of
 * which *n are filled; 0, or -1 (said)
 */
static int
ca_certs_of(const char *dir, bool revoked, struct ca_cert **certs, int *n)
{
	struct dirent **names;
	int count = ca_scan(dir, &names), rc = count == -1 ? -1 : 0;

	for (int i = 0; i < count; i++) {
		if (rc == 0 && ca_is_crt(names[i]->d_name) &&
		    *n < CA_MAX_CERTS) {
			*certs =
			    realloc(*certs, (size_t)(*n + 1) * sizeof(**certs));
			if (*certs == NULL)
				abort();
			rc = ca_read(
			    dir, names[i]->d_name, revoked, &(*certs)[*n]);
			*n += rc == 0;
		}
		free(names[i]);
	}
	if (count != -1)
		free(names);
	return rc;
}

/*
 * Every certificate the CA issued, issued/ then revoked/, into a new
 * array; its length, or -1 (said)
 */
static int
ca_certs(const struct ca *ca, struct ca_cert **out)
{
	struct ca_cert *certs = NULL;
	int n = 0;

	if (ca_certs_of(ca->issued, false, &certs, &n) == -1 ||
	    ca_certs_of(ca->revoked, true, &certs, &n) == -1) {
		free(certs);
		return -1;
	}
	*out = certs;
	return n;
}

/* Write the CRL of every revoked certificate; 0, or -1 (said). */
static int
ca_write_crl(const struct ca *ca, EVP_PKEY *key, X509 *crt)
{
	struct ca_cert *certs;
	struct x509_revoked *rev;
	char err[PATH_MAX + 256];
	int n = ca_certs(ca, &certs), k = 0, rc;

	if (n == -1)
		return -1;
	if ((rev = calloc((size_t)n + 1, sizeof(*rev))) == NULL)
		abort();
	for (int i = 0; i < n; i++) {
		if (certs[i].revoked == 0)
			continue;
		memcpy(rev[k].serial, certs[i].serial, sizeof(rev[k].serial));
		rev[k++].when = certs[i].revoked;
	}
	/* the time as the CRL's number: it only grows */
	rc = x509_crl_save(ca->crl, crt, key, rev, (size_t)k, (long)time(NULL),
	    (int)conf_int(ca->cf, "ca", "crl_days"), err, sizeof(err));
	if (rc == -1)
		ctl_err("%s", err);
	free(rev);
	free(certs);
	return rc;
}

/* Make the CA's directories; 0, or -1 (said). */
static int
ca_mkdirs(const struct ca *ca)
{
	const char *dirs[3] = { ca->dir, ca->issued, ca->revoked };

	for (int i = 0; i < 3; i++) {
		if (fsio_mkdirs(dirs[i], 0700) == -1) {
			ctl_err("could not create \"%s\": %s", dirs[i],
			    strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* sitectl ca init: a new CA, never over an old one. */
static int
ca_init(const struct ca *ca, const char *name)
{
	struct x509_subject subj = { name, NULL, NULL, true, CA_DAYS };
	char err[PATH_MAX + 256], fp[X509_FINGERPRINT_LEN];
	EVP_PKEY *key = NULL;
	X509 *crt = NULL;
	int rc = EXIT_FAIL;

	if (access(ca->key, F_OK) == 0 || access(ca->crt, F_OK) == 0) {
		ctl_err("a site CA exists in \"%s\" already: refusing to "
		        "replace it",
		    ca->dir);
		return EXIT_FAIL;
	}
	if (ca_mkdirs(ca) == -1)
		return EXIT_FAIL;
	if ((key = x509_key_new(err, sizeof(err))) == NULL ||
	    (crt = x509_cert_make(&subj, key, NULL, NULL, err, sizeof(err))) ==
	        NULL ||
	    x509_key_save(ca->key, key, err, sizeof(err)) == -1) {
		ctl_err("%s", err);
		goto out;
	}
	if (x509_cert_save(ca->crt, crt, err, sizeof(err)) == -1) {
		ctl_err("%s", err);
		unlink(ca->key);
		goto out;
	}
	if (ca_write_crl(ca, key, crt) == -1)
		goto out;
	x509_fingerprint(crt, fp);
	printf("made the site CA \"%s\" in \"%s\"\nSHA-256 fingerprint %s\n",
	    name, ca->dir, fp);
	rc = EXIT_OK;
out:
	X509_free(crt);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * fqdn in lower case into out (256 bytes) if it is a fully qualified
 * domain name: two labels or more of letters, digits and inner hyphens,
 * at most 253 characters; 0, or -1 (said)
 */
static int
ca_fqdn(const char *fqdn, char out[256])
{
	size_t len = strlen(fqdn), label = 0, dots = 0;

	for (size_t i = 0; i <= len && len <= 253; i++) {
		char c = fqdn[i];

		if (c == '.' || c == '\0') {
			if (label == 0 || fqdn[i - 1] == '-')
				break;
			dots += c == '.';
			label = 0;
		} else if (isalnum((unsigned char)c) ||
		    (c == '-' && label > 0)) {
			if (++label > 63)
				break;
		} else {
			break;
		}
		out[i] = (char)tolower((unsigned char)c);
		if (c == '\0' && dots > 0)
			return 0;
	}
	ctl_err("\"%s\" is not a fully qualified domain name (labels of "
	        "letters, digits and inner hyphens, with a dot between them)",
	    fqdn);
	return -1;
}

/* Whether role names a site system role a certificate may carry. */
static int
ca_role(const char *role)
{
	enum loc_role r;
	char list[256];

	if (loc_role_parse(role, &r) == 0 || strcmp(role, "fsp") == 0 ||
	    strcmp(role, "site-server") == 0)
		return 0;
	loc_role_list(list, sizeof(list), ", ", ", ");
	ctl_err("unknown role \"%s\": a site system is %s, fsp or site-server",
	    role, list);
	return -1;
}

/* Make and write the key and certificate of fqdn; 0, or -1 (said). */
static int
ca_issue_files(const struct ca *ca, const char *fqdn, const char *role,
    const char *keypath, const char *crtpath)
{
	struct x509_subject subj = { fqdn, role, fqdn, false,
		(int)conf_int(ca->cf, "ca", "cert_days") };
	char err[PATH_MAX + 256], serial[X509_SERIAL_HEX_LEN];
	EVP_PKEY *cakey, *key = NULL;
	X509 *cacrt, *crt = NULL;
	int rc = -1;

	if (ca_load(ca, &cakey, &cacrt) == -1)
		return -1;
	if ((key = x509_key_new(err, sizeof(err))) == NULL ||
	    (crt = x509_cert_make(
	         &subj, key, cacrt, cakey, err, sizeof(err))) == NULL ||
	    x509_key_save(keypath, key, err, sizeof(err)) == -1) {
		ctl_err("%s", err);
	} else if (x509_cert_save(crtpath, crt, err, sizeof(err)) == -1) {
		ctl_err("%s", err);
		unlink(keypath);
	} else {
		x509_serial(crt, serial);
		printf("issued certificate %s to %s (role %s) for %d days\n"
		       "key:         %s\ncertificate: %s\n",
		    serial, fqdn, role, subj.days, keypath, crtpath);
		rc = 0;
	}
	X509_free(crt);
	EVP_PKEY_free(key);
	X509_free(cacrt);
	EVP_PKEY_free(cakey);
	return rc;
}

/* sitectl ca issue --server FQDN --role ROLE */
static int
ca_issue(const struct ca *ca, const char *server, const char *role)
{
	char fqdn[256], keypath[PATH_MAX], crtpath[PATH_MAX];

	if (ca_fqdn(server, fqdn) == -1 || ca_role(role) == -1)
		return EXIT_USAGE;
	if (ca_file(keypath, ca->issued, fqdn, ".key") == -1 ||
	    ca_file(crtpath, ca->issued, fqdn, ".crt") == -1)
		return EXIT_FAIL;
	if (access(crtpath, F_OK) == 0 || access(keypath, F_OK) == 0) {
		ctl_err("%s holds a certificate already: revoke it first "
		        "(sitectl ca revoke %s)",
		    fqdn, fqdn);
		return EXIT_FAIL;
	}
	return ca_issue_files(ca, fqdn, role, keypath, crtpath) == 0
	    ? EXIT_OK
	    : EXIT_FAIL;
}

/* The state ca list shows. */
static const char *
ca_state(const struct ca_cert *c, time_t now)
{
	if (c->revoked != 0)
		return "revoked";
	return c->not_after < now ? "expired" : "valid";
}

/* sitectl ca list [--json] */
static int
ca_list(struct ctl *ctl, const struct ca *ca)
{
	struct ca_cert *certs;
	char until[CLOCK_RFC3339_LEN];
	time_t now = time(NULL);
	json_t *list = json_array();
	int n;

	if (ca_exists(ca) == -1 || (n = ca_certs(ca, &certs)) == -1) {
		json_decref(list);
		return EXIT_FAIL;
	}
	if (!ctl->json)
		printf("%-32s %-12s %-34s %-20s %s\n", "SERVER", "ROLE",
		    "SERIAL", "NOT AFTER", "STATE");
	for (int i = 0; i < n; i++) {
		clock_rfc3339(until, sizeof(until),
		    (int64_t)certs[i].not_after * 1000000, 0);
		if (ctl->json)
			json_array_append_new(list,
			    json_pack("{s:s,s:s,s:s,s:s,s:s}", "server",
			        certs[i].fqdn, "role", certs[i].role, "serial",
			        certs[i].serial, "not_after", until, "state",
			        ca_state(&certs[i], now)));
		else
			printf("%-32s %-12s %-34s %-20s %s\n",
			    ctl_text(certs[i].fqdn), ctl_text(certs[i].role),
			    ctl_text(certs[i].serial), until,
			    ca_state(&certs[i], now));
	}
	if (ctl->json) {
		ctl_json(list);
	}
	json_decref(list);
	free(certs);
	return EXIT_OK;
}

/*
 * The certificate that what names (its server, or its serial in hex) among
 * certs; NULL (said) if none is, or it is revoked already
 */
static const struct ca_cert *
ca_find(const struct ca_cert *certs, int n, const char *what)
{
	const struct ca_cert *old = NULL;

	for (int i = 0; i < n; i++) {
		if (strcasecmp(what, certs[i].fqdn) != 0 &&
		    strcasecmp(what, certs[i].serial) != 0)
			continue;
		if (certs[i].revoked == 0)
			return &certs[i];
		old = &certs[i];
	}
	if (old != NULL)
		ctl_err("certificate %s of %s is revoked already", old->serial,
		    old->fqdn);
	else
		ctl_err(
		    "no certificate of a server or with a serial \"%s\"", what);
	return NULL;
}

/* Move c from issued/ to revoked/, dated now, and drop its key. */
static int
ca_move_revoked(const struct ca *ca, const struct ca_cert *c)
{
	char crt[PATH_MAX], key[PATH_MAX], dst[PATH_MAX];

	if (ca_file(crt, ca->issued, c->fqdn, ".crt") == -1 ||
	    ca_file(key, ca->issued, c->fqdn, ".key") == -1 ||
	    ca_file(dst, ca->revoked, c->serial, ".crt") == -1)
		return -1;
	if (rename(crt, dst) == -1 || utimensat(AT_FDCWD, dst, NULL, 0) == -1 ||
	    (unlink(key) == -1 && errno != ENOENT) ||
	    fsio_sync_dir(ca->revoked) == -1 ||
	    fsio_sync_dir(ca->issued) == -1) {
		ctl_err("could not revoke \"%s\": %s", crt, strerror(errno));
		return -1;
	}
	return 0;
}

/* sitectl ca revoke FQDN|SERIAL */
static int
ca_revoke(const struct ca *ca, const char *what)
{
	const struct ca_cert *c;
	struct ca_cert *certs = NULL;
	EVP_PKEY *key;
	X509 *crt;
	int n, rc = EXIT_FAIL;

	if (ca_load(ca, &key, &crt) == -1)
		return EXIT_FAIL;
	if ((n = ca_certs(ca, &certs)) >= 0 &&
	    (c = ca_find(certs, n, what)) != NULL &&
	    ca_move_revoked(ca, c) == 0 && ca_write_crl(ca, key, crt) == 0) {
		printf("revoked certificate %s of %s; the CRL is \"%s\"\n",
		    c->serial, c->fqdn, ca->crl);
		rc = EXIT_OK;
	}
	free(certs);
	X509_free(crt);
	EVP_PKEY_free(key);
	return rc;
}

/*
 * sitectl ca crl: the revocation list written anew, valid for [ca]
 * crl_days from now. A list past its time makes every peer that checks it
 * refuse every certificate, so it is renewed before then (a timer).
 */
static int
ca_crl(const struct ca *ca)
{
	EVP_PKEY *key;
	X509 *crt;
	int rc = EXIT_FAIL;

	if (ca_load(ca, &key, &crt) == -1)
		return EXIT_FAIL;
	if (ca_write_crl(ca, key, crt) == 0) {
		printf("wrote the CRL \"%s\", valid for %d days; copy it to "
		       "the hosts that check it and reload their nginx\n",
		    ca->crl, (int)conf_int(ca->cf, "ca", "crl_days"));
		rc = EXIT_OK;
	}
	X509_free(crt);
	EVP_PKEY_free(key);
	return rc;
}

int
cmd_ca(struct ctl *ctl, int argc, char **argv)
{
	static const char *const spec[] = { "server=", "role=", "name=", NULL };
	const char *v[3] = { NULL, NULL, NULL }, *pos[1];
	struct ca ca;
	int npos;

	if (argc < 2 ||
	    ctl_parse(ctl, argc - 1, argv + 1, spec, v, pos, 1, &npos) == -1)
		return ctl_usage("ca");
	if (ca_paths(&ca, ctl->cf) == -1)
		return EXIT_FAIL;
	if (strcmp(argv[1], "init") == 0 && npos == 0 && !v[0] && !v[1])
		return ca_init(&ca, v[2] ? v[2] : "sitesys site CA");
	if (strcmp(argv[1], "issue") == 0 && npos == 0 && v[0] && v[1] && !v[2])
		return ca_issue(&ca, v[0], v[1]);
	if (strcmp(argv[1], "list") == 0 && npos == 0 && !v[0] && !v[1] &&
	    !v[2])
		return ca_list(ctl, &ca);
	if (strcmp(argv[1], "revoke") == 0 && npos == 1 && !v[0] && !v[1] &&
	    !v[2])
		return ca_revoke(&ca, pos[0]);
	if (strcmp(argv[1], "crl") == 0 && npos == 0 && !v[0] && !v[1] && !v[2])
		return ca_crl(&ca);
	return ctl_usage("ca");
}
