/* refusal_log.c - refused requests in the log, rate-limited */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "refusal_log.h"
#include "util/log.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static time_t second; /* the second being counted */
static unsigned logged; /* refusals logged in it */
static unsigned long suppressed; /* refusals left out, not yet reported */

/* Copy s into out (len bytes), control characters as \xNN. */
static const char *
escape(char *out, size_t len, const char *s)
{
	size_t n = 0;

	for (s = s != NULL ? s : "?"; *s != '\0' && n + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(out + n, len - n, "\\x%02x", c);
		else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
}

/* Start counting the second now, reporting what the last one left out. */
static void
next_second(time_t now)
{
	if (now == second)
		return;
	if (suppressed > 0)
		log_warn("suppressed %lu refused requests: more than %d a "
		         "second",
		    suppressed, REFUSAL_LOG_PER_SECOND);
	second = now;
	logged = 0;
	suppressed = 0;
}

void
refusal_log_flush(void)
{
	pthread_mutex_lock(&mu);
	next_second(time(NULL));
	pthread_mutex_unlock(&mu);
}

/* Whether the refusal of now may be logged: counted either way. */
static bool
take_one(void)
{
	bool take;

	pthread_mutex_lock(&mu);
	next_second(time(NULL));
	if ((take = logged < REFUSAL_LOG_PER_SECOND))
		logged++;
	else
		suppressed++;
	pthread_mutex_unlock(&mu);
	return take;
}

void
refusal_log_peer(const char *addr, const char *reason)
{
	char a[64], why[1024];

	if (!take_one())
		return;
	log_info("refused a connection from %s: %s", escape(a, sizeof(a), addr),
	    escape(why, sizeof(why), reason));
}

void
refusal_log(
    struct fcgi_req *req, int status, const char *code, const char *reason)
{
	char method[32], addr[64], path[256], why[1024];

	if (!take_one())
		return;
	escape(method, sizeof(method), fcgi_method(req));
	escape(addr, sizeof(addr), fcgi_param(req, "REMOTE_ADDR"));
	escape(path, sizeof(path), fcgi_path(req));
	escape(why, sizeof(why), reason);
	if (status >= 500)
		log_warn("refused %s %s from %s: %d%s%s: %s", method, path,
		    addr, status, code != NULL ? " " : "",
		    code != NULL ? code : "", why);
	else
		log_info("refused %s %s from %s: %d%s%s: %s", method, path,
		    addr, status, code != NULL ? " " : "",
		    code != NULL ? code : "", why);
}
