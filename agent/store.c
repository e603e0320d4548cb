/*
 * store.c - the agent's state directory: identity, the serial counter, the
 * outbox and the cache of the latest message of each topic
 *
 * Every change happens under the directory's lock and in an order that a
 * crash at any point can only burn serial numbers, never reuse one or lose
 * a message that was reported raised:
 *
 *   1. the counter is written (temp, fsync, rename, fsync the directory);
 *   2. the cache is written the same way;
 *   3. the message is put into the outbox by the inbox protocol.
 *
 * A crash after 1 leaves a gap in the serials, which statesys answers with
 * a resync; a crash after 2 leaves in the cache a message that was never
 * sent, which that resync then sends.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "util/crash.h"
#include "util/fsio.h"
#include "util/log.h"
#include "util/sjson.h"

#define STORE_MAX_FILE (64u * 1024 * 1024)

int
store_paths(
    const char *dir, const char *name, char path[PATH_MAX], char tmp[PATH_MAX])
{
	char tmpname[NAME_MAX + 1];
	int n = snprintf(tmpname, sizeof(tmpname), ".%s.tmp", name);

	if (n < 0 || (size_t)n >= sizeof(tmpname)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fsio_join(path, PATH_MAX, dir, name) == -1)
		return -1;
	return fsio_join(tmp, PATH_MAX, dir, tmpname);
}

int
store_write_file(
    const char *dir, const char *name, const void *data, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];

	if (store_paths(dir, name, dst, tmp) == -1 ||
	    fsio_replace(dst, tmp, data, len, 0600) == -1) {
		log_error("could not replace \"%s/%s\": %m", dir, name);
		return -1;
	}
	return 0;
}

/* Read dir/name whole; 0, 1 when it does not exist, or -1 logged. */
static int
store_read(const struct store *st, const char *name, char **buf, size_t *len)
{
	char path[PATH_MAX];

	if (fsio_join(path, sizeof(path), st->dir, name) == 0 &&
	    fsio_read_file(path, STORE_MAX_FILE, buf, len) == 0)
		return 0;
	if (errno == ENOENT)
		return 1;
	log_error("could not read \"%s/%s\": %m", st->dir, name);
	return -1;
}

/* Write doc compactly to dir/name by write-temp-fsync-rename. */
static int
store_write_json(const struct store *st, const char *name, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	int rc;

	if (text == NULL)
		abort();
	rc = store_write_file(st->dir, name, text, strlen(text));
	free(text);
	return rc;
}

int
store_lock(struct store *st)
{
	if (st->lock_depth++ > 0)
		return 0;
	while (flock(st->lock_fd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			log_error("could not lock \"%s/lock\": %m", st->dir);
			st->lock_depth--;
			return -1;
		}
	}
	return 0;
}

void
store_unlock(struct store *st)
{
	if (st->lock_depth > 0 && --st->lock_depth == 0)
		flock(st->lock_fd, LOCK_UN);
}

int
store_make_dir(const char *dir)
{
	char parent[PATH_MAX];

	if (dir[0] != '/') {
		log_error("[agent] state_dir must be an absolute path, not "
		          "\"%s\"",
		    dir);
		return -1;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	if (fsio_mkdirs(dirname(parent), 0755) == -1 ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST)) {
		log_error(
		    "could not create the state directory \"%s\": %m", dir);
		return -1;
	}
	return 0;
}

/* Load the GUID, or make it if there is none yet. */
static int
store_guid(struct store *st)
{
	char *buf, line[STATEMSG_GUID_LEN + 2];
	size_t len;
	int rc = store_read(st, "identity", &buf, &len);

	if (rc == -1)
		return -1;
	if (rc == 0) {
		buf[strcspn(buf, "\n")] = '\0';
		rc = statemsg_valid_guid(buf) ? 0 : -1;
		if (rc == 0)
			snprintf(st->guid, sizeof(st->guid), "%s", buf);
		else
			log_error("cannot use \"%s/identity\": it does not "
			          "hold \"GUID:\" and a UUID",
			    st->dir);
		free(buf);
		return rc;
	}
	if (identity_made(st)) {
		log_error("\"%s/identity\": missing, but the key or the "
		          "certificate of a GUID is there; will not make a new "
		          "GUID beside them",
		    st->dir);
		return -1;
	}
	if (msg_new_guid(st->guid) == -1) {
		log_error("could not make an identity: getrandom: %m");
		return -1;
	}
	snprintf(line, sizeof(line), "%s\n", st->guid);
	if (store_write_file(st->dir, "identity", line, strlen(line)) == -1)
		return -1;
	log_info("made the identity %s in \"%s\"", st->guid, st->dir);
	return 0;
}

int
store_open(struct store *st, const char *dir)
{
	char path[PATH_MAX];
	int rc = -1;

	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	if (store_make_dir(dir) == -1 || (st->dir = strdup(dir)) == NULL)
		return -1;
	if (fsio_join(path, sizeof(path), dir, "lock") == -1 ||
	    (st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) ==
	        -1) {
		log_error("could not open \"%s/lock\": %m", dir);
		goto out;
	}
	if (store_lock(st) == -1)
		goto out;
	if (inbox_open(&st->outbox, dir, "outbox", true) == -1) {
		log_error("could not open the outbox in \"%s\": %m", dir);
		store_unlock(st);
		goto out;
	}
	/* under the lock, whatever is in tmp/ was left by a dead writer */
	inbox_recover(&st->outbox, 0);
	rc = store_guid(st);
	if (rc == 0)
		rc = identity_open(st);
	store_unlock(st);
out:
	if (rc == -1)
		store_close(st);
	return rc;
}

void
store_close(struct store *st)
{
	if (st->lock_fd != -1)
		close(st->lock_fd);
	identity_close(st);
	inbox_close(&st->outbox);
	free(st->dir);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
}

int
store_serial(struct store *st, long long *last)
{
	char *buf, *end;
	size_t len;
	int rc = store_read(st, "serial", &buf, &len);

	*last = 0;
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	errno = 0;
	*last = strtoll(buf, &end, 10);
	if (end == buf || strcmp(end, "\n") != 0 || errno != 0 || *last < 0 ||
	    *last > STATEMSG_MAX_SERIAL) {
		log_error("cannot use \"%s/serial\": it does not hold a serial "
		          "number",
		    st->dir);
		rc = -1;
	}
	free(buf);
	return rc;
}

/* Take n serials for good (the caller holds the lock); the first. */
static int
store_take(struct store *st, long long n, long long *first)
{
	char text[32];
	long long last;

	if (store_serial(st, &last) == -1)
		return -1;
	if (last > STATEMSG_MAX_SERIAL - n) {
		log_error("cannot take %lld serial numbers after %lld: the "
		          "largest is %lld",
		    n, last, STATEMSG_MAX_SERIAL);
		return -1;
	}
	snprintf(text, sizeof(text), "%lld\n", last + n);
	if (store_write_file(st->dir, "serial", text, strlen(text)) == -1)
		return -1;
	CRASH_POINT("serial.saved");
	*first = last + 1;
	return 0;
}

/* The cache's array of messages (the caller holds the lock), or NULL. */
static json_t *
store_cache_load(struct store *st)
{
	char *buf, why[512];
	size_t len;
	json_t *doc, *topics = NULL;
	int rc = store_read(st, "cache.json", &buf, &len);

	if (rc == 1)
		return json_array();
	if (rc == -1)
		return NULL;
	doc = sjson_parse(buf, len, why, sizeof(why));
	free(buf);
	if (doc == NULL ||
	    sjson_format(doc, AGENT_CACHE_FORMAT, why, sizeof(why)) == -1 ||
	    sjson_array(
	        doc, "topics", SIZE_MAX, true, &topics, why, sizeof(why)) == -1)
		log_error("cannot use \"%s/cache.json\": %s", st->dir, why);
	else
		json_incref(topics);
	json_decref(doc);
	return topics;
}

json_t *
store_cache(struct store *st)
{
	json_t *topics;

	if (store_lock(st) == -1)
		return NULL;
	topics = store_cache_load(st);
	store_unlock(st);
	return topics;
}

/* Whether two messages are about the same topic (type and id). */
static bool
same_topic(const json_t *a, const json_t *b)
{
	const json_t *ta = json_object_get(a, "topic");
	const json_t *tb = json_object_get(b, "topic");

	return json_integer_value(json_object_get(ta, "type")) ==
	    json_integer_value(json_object_get(tb, "type")) &&
	    json_equal(json_object_get(ta, "id"), json_object_get(tb, "id"));
}

/* Make msg the topic's latest message in the cache, durably. */
static int
store_cache_put(struct store *st, json_t *msg)
{
	json_t *topics = store_cache_load(st), *doc;
	size_t i;
	int rc;

	if (topics == NULL)
		return -1;
	for (i = 0; i < json_array_size(topics); i++)
		if (same_topic(json_array_get(topics, i), msg))
			break;
	if (i < json_array_size(topics))
		json_array_remove(topics, i);
	sjson_append(topics, json_incref(msg));
	doc = json_pack(
	    "{s:s,s:o}", "format", AGENT_CACHE_FORMAT, "topics", topics);
	if (doc == NULL)
		abort();
	rc = store_write_json(st, "cache.json", doc);
	json_decref(doc);
	return rc;
}

/* Put msgs into the outbox as one file named by its first serial. */
static int
store_queue(struct store *st, json_t *msgs)
{
	char name[INBOX_NAME_MAX + 1], *text;
	json_int_t first = json_integer_value(
	    json_object_get(json_array_get(msgs, 0), "serial"));
	json_t *doc = json_pack(
	    "{s:s,s:O}", "format", AGENT_OUTBOX_FORMAT, "messages", msgs);
	int rc;

	if (doc == NULL || (text = json_dumps(doc, JSON_COMPACT)) == NULL)
		abort();
	snprintf(name, sizeof(name), "%016lld.msg", (long long)first);
	rc = inbox_put(&st->outbox, name, text, strlen(text));
	if (rc == -1)
		log_error("could not put \"%s\" into \"%s\": %m", name,
		    st->outbox.incoming);
	free(text);
	json_decref(doc);
	return rc;
}

/* A new message: serial and time first, then what msg holds. */
static json_t *
store_stamp(const json_t *msg, long long serial, const char *time)
{
	json_t *m =
	    json_pack("{s:I,s:s}", "serial", (json_int_t)serial, "time", time);

	if (m == NULL)
		abort();
	json_t *copy = json_deep_copy(msg);
	json_object_del(copy, "serial");
	json_object_del(copy, "time");
	json_object_update(m, copy);
	json_decref(copy);
	return m;
}

int
store_raise(struct store *st, json_t *msg, long long *serial)
{
	char now[AGENT_TIME_LEN];
	json_t *m = NULL, *one = NULL;
	int rc = -1;

	if (store_lock(st) == -1)
		return -1;
	if (store_take(st, 1, serial) == -1)
		goto out;
	msg_now(now);
	m = store_stamp(msg, *serial, now);
	if (json_integer_value(json_object_get(
	        json_object_get(m, "topic"), "type")) != AGENT_RESYNC_TOPIC &&
	    store_cache_put(st, m) == -1)
		goto out;
	CRASH_POINT("raise.cached");
	one = json_pack("[O]", m);
	if (store_queue(st, one) == -1)
		goto out;
	if (inbox_sync(&st->outbox) == -1) {
		log_error("could not sync \"%s\": %m", st->outbox.incoming);
		goto out;
	}
	CRASH_POINT("raise.queued");
	rc = 0;
out:
	json_decref(one);
	json_decref(m);
	store_unlock(st);
	return rc;
}

/* The resync's messages: the cache renumbered from first, then 700/2. */
static json_t *
store_resync_msgs(json_t *topics, long long first)
{
	char now[AGENT_TIME_LEN];
	json_t *msgs = json_array(), *m;
	size_t i;

	msg_now(now);
	json_array_foreach(topics, i, m)
	{
		const char *t = json_string_value(json_object_get(m, "time"));

		sjson_append(msgs, store_stamp(m, first + (long long)i, t));
	}
	m = json_pack("{s:I,s:s,s:{s:i,s:s,s:i},s:{s:i,s:i}}", "serial",
	    (json_int_t)(first + (long long)i), "time", now, "topic", "type",
	    AGENT_RESYNC_TOPIC, "id", "resync", "id_type", 0, "state", "id",
	    AGENT_RESYNC_DONE, "criticality", 0);
	if (msgs == NULL || m == NULL)
		abort();
	sjson_append(msgs, m);
	return msgs;
}

/* Queue msgs as files that each fit one batch, then sync the outbox. */
static int
store_queue_split(struct store *st, json_t *msgs)
{
	size_t i = 0, n = json_array_size(msgs);

	while (i < n) {
		json_t *part = json_array();
		size_t bytes = 0;

		while (i < n && json_array_size(part) < STATEMSG_MAX_MESSAGES) {
			json_t *m = json_array_get(msgs, i);
			size_t sz = msg_json_size(m) + 1;

			if (json_array_size(part) > 0 &&
			    bytes + sz >
			        STATEMSG_MAX_BODY - AGENT_BATCH_ENVELOPE)
				break;
			sjson_append(part, json_incref(m));
			bytes += sz;
			i++;
		}
		int rc = store_queue(st, part);
		json_decref(part);
		if (rc == -1)
			return -1;
	}
	if (inbox_sync(&st->outbox) == -1) {
		log_error("could not sync \"%s\": %m", st->outbox.incoming);
		return -1;
	}
	return 0;
}

int
store_resync(struct store *st, const char *requested, size_t *n)
{
	json_t *topics = NULL, *msgs = NULL;
	long long first;
	char line[AGENT_TIME_LEN + 1];
	int rc = -1;

	if (store_lock(st) == -1)
		return -1;
	if ((topics = store_cache_load(st)) == NULL ||
	    store_take(st, (long long)json_array_size(topics) + 1, &first) ==
	        -1)
		goto out;
	msgs = store_resync_msgs(topics, first);
	if (store_queue_split(st, msgs) == -1)
		goto out;
	CRASH_POINT("resync.queued");
	snprintf(line, sizeof(line), "%s\n", requested);
	if (store_write_file(st->dir, "resync", line, strlen(line)) == -1)
		goto out;
	CRASH_POINT("resync.answered");
	*n = json_array_size(msgs);
	log_info("answered the resync request of %s with %zu messages, "
	         "serials %lld to %lld",
	    requested, *n, first, first + (long long)*n - 1);
	rc = 0;
out:
	json_decref(topics);
	json_decref(msgs);
	store_unlock(st);
	return rc;
}

int
store_resync_answered(struct store *st, char *out, size_t len)
{
	char *buf;
	size_t n;
	int rc = store_read(st, "resync", &buf, &n);

	out[0] = '\0';
	if (rc != 0)
		return rc == 1 ? 0 : -1;
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out, len, "%s", buf);
	free(buf);
	return 0;
}

/* Check one outbox file's text; its messages, or NULL with why. */
static json_t *
store_outbox_check(
    const char *guid, const char *text, size_t len, char *why, size_t whylen)
{
	struct statemsg_batch b;
	json_t *doc = sjson_parse(text, len, why, whylen), *msgs, *batch;

	if (doc == NULL ||
	    sjson_format(doc, AGENT_OUTBOX_FORMAT, why, whylen) == -1) {
		json_decref(doc);
		return NULL;
	}
	msgs = json_incref(json_object_get(doc, "messages"));
	json_decref(doc);
	batch = json_pack("{s:s,s:s,s:O}", "format", STATEMSG_FORMAT, "client",
	    guid, "messages", msgs ? msgs : json_null());
	if (batch == NULL || statemsg_parse(batch, &b, why, whylen) == -1) {
		json_decref(batch);
		json_decref(msgs);
		return NULL;
	}
	statemsg_free(&b);
	json_decref(batch);
	return msgs;
}

/* Load outbox file name into f; 0, or -1 when it was set aside. */
static int
store_outbox_load(struct store *st, const char *name, struct outbox_file *f)
{
	char path[PATH_MAX], why[512], *text;
	size_t len, i;
	json_t *m;

	if (fsio_join(path, sizeof(path), st->outbox.incoming, name) == -1 ||
	    fsio_read_file(path, STATEMSG_MAX_BODY, &text, &len) == -1) {
		snprintf(
		    why, sizeof(why), "could not read it: %s", strerror(errno));
		f->msgs = NULL;
	} else {
		f->msgs =
		    store_outbox_check(st->guid, text, len, why, sizeof(why));
		free(text);
	}
	if (f->msgs == NULL) {
		inbox_reject(&st->outbox, name, why);
		return -1;
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->bytes = 0;
	json_array_foreach(f->msgs, i, m)
	{
		f->bytes += msg_json_size(m) + 1;
	}
	return 0;
}

static int
not_hidden(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

int
store_outbox_list(struct store *st, struct outbox_file **files, size_t *n)
{
	struct dirent **names;
	int count;

	*files = NULL;
	*n = 0;
	if (store_lock(st) == -1)
		return -1;
	if ((count = scandir(
	         st->outbox.incoming, &names, not_hidden, alphasort)) == -1) {
		log_error("could not list \"%s\": %m", st->outbox.incoming);
		store_unlock(st);
		return -1;
	}
	if (count > 0 &&
	    (*files = calloc((size_t)count, sizeof(**files))) == NULL)
		abort();
	for (int i = 0; i < count; i++) {
		if (store_outbox_load(st, names[i]->d_name, &(*files)[*n]) == 0)
			(*n)++;
		free(names[i]);
	}
	free(names);
	store_unlock(st);
	return 0;
}

void
store_outbox_free(struct outbox_file *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(files[i].msgs);
	free(files);
}

int
store_outbox_remove(struct store *st, const struct outbox_file *files, size_t n)
{
	char path[PATH_MAX];
	int rc = 0;

	if (store_lock(st) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if ((fsio_join(path, sizeof(path), st->outbox.incoming,
		         files[i].name) == -1 ||
		        unlink(path) == -1) &&
		    errno != ENOENT) {
			log_error(
			    "could not remove the sent file \"%s/%s\": %m",
			    st->outbox.incoming, files[i].name);
			rc = -1;
		}
		CRASH_POINT("outbox.unlinked_one");
	}
	if (fsio_sync_dir(st->outbox.incoming) == -1) {
		log_error("could not sync \"%s\": %m", st->outbox.incoming);
		rc = -1;
	}
	store_unlock(st);
	return rc;
}

json_t *
store_status(struct store *st)
{
	char *buf, why[512];
	size_t len;
	json_t *doc = NULL;
	int rc;

	if (store_lock(st) == -1)
		return json_object();
	rc = store_read(st, "status.json", &buf, &len);
	if (rc == 0) {
		doc = sjson_parse(buf, len, why, sizeof(why));
		if (!json_is_object(doc)) {
			log_warn("ignoring \"%s/status.json\": %s", st->dir,
			    doc == NULL ? why : "not an object");
			json_decref(doc);
			doc = NULL;
		}
		free(buf);
	}
	store_unlock(st);
	return doc != NULL ? doc : json_object();
}

int
store_status_set(struct store *st, const char *key, json_t *value)
{
	json_t *doc;
	int rc;

	if (store_lock(st) == -1) {
		json_decref(value);
		return -1;
	}
	doc = store_status(st);
	sjson_set(doc, key, value);
	rc = store_write_json(st, "status.json", doc);
	json_decref(doc);
	store_unlock(st);
	return rc;
}
