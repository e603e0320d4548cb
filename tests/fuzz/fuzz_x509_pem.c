/*
 * fuzz_x509_pem.c - a certificate in PEM as nginx passes it on
 * ($ssl_client_escaped_cert, unescaped) and sitectl reads it:
 * x509_pem_fingerprint, which decodes the first CERTIFICATE without
 * parsing it, and x509_cert_parse with what it reads of a certificate
 */
#include "fuzz.h"
#include "util/x509.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *pem = fuzz_copy(data, size), err[256] = "";
	char fp[X509_FINGERPRINT_LEN], serial[X509_SERIAL_HEX_LEN], cn[256];
	X509 *cert;

	if (x509_pem_fingerprint(pem, size, fp, err, sizeof(err)) == 0)
		FUZZ_ASSERT(strlen(fp) == X509_FINGERPRINT_LEN - 1);
	else
		FUZZ_ASSERT(fuzz_why_ok(err));
	if ((cert = x509_cert_parse(pem, size, err, sizeof(err))) != NULL) {
		x509_fingerprint(cert, fp);
		x509_serial(cert, serial);
		x509_cn(cert, cn, sizeof(cn));
		x509_ou(cert, cn, sizeof(cn));
		(void)x509_not_after(cert);
		X509_free(cert);
	}
	free(pem);
	return 0;
}
