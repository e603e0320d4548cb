/* source.c - the sources of the FSP's spool and what each has waiting */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "util/clock.h"
#include "util/ipaddr.h"
#include "util/log.h"

/* A key of the quota's map, kept for as long as the map. */
struct source_key_list {
	struct source_key_list *next;
	char key[SOURCE_KEY_MAX + 1];
};

void
source_key(const char *addr, char *key, size_t len)
{
	struct ipaddr a;
	char why[128];

	if (addr == NULL || ipaddr_parse(addr, &a, why, sizeof(why)) == -1)
		snprintf(key, len, "s0");
	else if (ipaddr_is_v4(&a))
		snprintf(key, len, "s4%08llx",
		    (unsigned long long)(a.lo & 0xffffffffu));
	else
		snprintf(key, len, "s6%016llx", (unsigned long long)a.hi);
}

/* True if s[0..n) is a key: "s0", "s4" and 8 or "s6" and 16 hex digits. */
static bool
is_key(const char *s, size_t n)
{
	size_t want;

	if (n < 2 || s[0] != 's')
		return false;
	switch (s[1]) {
	case '0':
		want = 0;
		break;
	case '4':
		want = 8;
		break;
	case '6':
		want = 16;
		break;
	default:
		return false;
	}
	if (n != 2 + want)
		return false;
	for (size_t i = 2; i < n; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return false;
	return true;
}

/* The length of the component of name that ends just before end. */
static size_t
component(const char *name, const char *end)
{
	const char *p = end;

	while (p > name && p[-1] != '.')
		p--;
	return (size_t)(end - p);
}

void
source_of(const char *name, char *key, size_t len)
{
	const char *end = strrchr(name, '.');
	size_t n;

	key[0] = '\0';
	if (end == NULL)
		return;
	n = component(name, end);
	/* a rest of an older forwarder: STEM.KEY.rN.EXT */
	if (n >= 2 && end[-(long)n] == 'r' &&
	    strspn(end - n + 1, "0123456789") == n - 1 && end - n - 1 > name) {
		end -= n + 1;
		n = component(name, end);
	}
	if (is_key(end - n, n))
		snprintf(key, len, "%.*s", (int)n, end - n);
}

void
quota_init(struct source_quota *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	strmap_init(&q->count, false);
}

void
quota_free(struct source_quota *q)
{
	struct source_key_list *k, *next;

	strmap_free(&q->count);
	for (k = q->keys; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
	q->keys = NULL;
	pthread_mutex_destroy(&q->mu);
}

void
quota_configure(
    struct source_quota *q, long long max, long long limit, int64_t interval_ms)
{
	pthread_mutex_lock(&q->mu);
	q->max = max > 0 ? max : limit;
	q->limit = limit;
	q->interval_ms = interval_ms;
	pthread_mutex_unlock(&q->mu);
}

/* The messages of key, with q->mu held; 0 if it has none. */
static long long
waiting(struct source_quota *q, const char *key)
{
	uint32_t v;

	return strmap_get(&q->count, key, &v) ? (long long)v : 0;
}

/* Set key's count to n, with q->mu held; a new key is copied. */
static void
set_waiting(struct source_quota *q, const char *key, long long n)
{
	struct source_key_list *k;
	uint64_t h = strmap_hash(key, false);
	uint32_t v;

	if (n < 0)
		n = 0;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	if (strmap_get_h(&q->count, key, h, &v)) {
		/* a key present keeps the copy it was put with */
		strmap_put_h(&q->count, key, h, (uint32_t)n);
		return;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		log_error("out of memory counting the messages of %s", key);
		return;
	}
	snprintf(k->key, sizeof(k->key), "%s", key);
	k->next = q->keys;
	q->keys = k;
	strmap_put_h(&q->count, k->key, h, (uint32_t)n);
}

/* Seconds until the forwarder has taken excess messages more. */
static long
retry_after(const struct source_quota *q, long long excess)
{
	int64_t now = clock_now_us() / 1000;
	int64_t rest = q->end_ms > now ? q->end_ms - now : q->interval_ms;
	int64_t more = (excess - 1) / (q->limit > 0 ? q->limit : 1);
	int64_t s = (rest + 999) / 1000 + more * (q->interval_ms / 1000);

	return s < 1 ? 1 : s > 864000 ? 864000 : (long)s;
}

long
quota_admit(struct source_quota *q, const char *key, long long n)
{
	long long have;
	long wait = 0;

	pthread_mutex_lock(&q->mu);
	have = waiting(q, key);
	if (have > 0 && have + n > q->max)
		wait = retry_after(q, have + n - q->max);
	else
		set_waiting(q, key, have + n);
	pthread_mutex_unlock(&q->mu);
	return wait;
}

void
quota_add(struct source_quota *q, const char *key, long long n)
{
	pthread_mutex_lock(&q->mu);
	set_waiting(q, key, waiting(q, key) + n);
	pthread_mutex_unlock(&q->mu);
}

void
quota_release(struct source_quota *q, const char *key, long long n)
{
	quota_add(q, key, -n);
}

long long
quota_waiting(struct source_quota *q, const char *key)
{
	long long n;

	pthread_mutex_lock(&q->mu);
	n = waiting(q, key);
	pthread_mutex_unlock(&q->mu);
	return n;
}

void
quota_interval(struct source_quota *q, int64_t end_ms)
{
	pthread_mutex_lock(&q->mu);
	q->end_ms = end_ms;
	pthread_mutex_unlock(&q->mu);
}
