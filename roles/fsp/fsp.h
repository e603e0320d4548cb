/* fsp.h - sitesys-fsp, the fallback status point: its parts */
#ifndef SITESYS_FSP_H
#define SITESYS_FSP_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "inbox.h"
#include "source.h"
#include "throttle.h"

struct conf;

#define FSP_SPOOL "fsp.box"
#define FSP_OUT "statsys.box"
#define FSP_STATE "forward.state" /* in fsp.box, beside incoming/ */
#define FSP_STATE_FORMAT "sitesys.fsp-forward/2"
#define FSP_STATE_FORMAT_1 "sitesys.fsp-forward/1" /* read, not written */
#define FWD_MAX_FILES 256 /* most batches in one step */
#define FWD_MAX_BYTES (16u << 20) /* most bytes read for one step */

/*
 * One batch file of a step: of its batches from batch from on, which hold
 * n messages, forward the leading ones that hold k (all of them when
 * k == n) as its part number parts + 1; a batch is never cut. A step
 * reads the file once and parses it once: the plan keeps the text,
 * forwarded as it is when whole and marked as the FSP's, and otherwise
 * the document, from which the parts are made.
 */
struct fwd_entry {
	char name[INBOX_NAME_MAX + 1];
	size_t n, k;
	size_t from; /* batches of the file forwarded in earlier steps */
	unsigned parts; /* parts of the file forwarded in earlier steps */
	char *data; /* the text, NULL until read in this step */
	size_t len;
	json_t *doc; /* the document, if parts are made of it; else NULL */
};

/* How far into a batch file earlier steps got; the file is unchanged. */
struct fwd_progress {
	char name[INBOX_NAME_MAX + 1];
	size_t batches; /* its leading batches forwarded */
	unsigned parts; /* in that many parts */
};

/* The forwarder from fsp.box to statsys.box (forward.c, plan.c, apply.c). */
struct fwd {
	struct inbox *spool, *out;
	long long limit; /* [fsp] throttle_messages */
	int64_t interval_ms; /* [fsp] throttle_seconds */
	int rescan_ms;
	struct throttle th;
	struct fwd_entry plan[FWD_MAX_FILES];
	size_t nplan;
	char state_path[PATH_MAX], state_tmp[PATH_MAX];
	struct inbox_watch watch; /* fsp.box/incoming */
	struct fwd_progress *prog; /* the files forwarded in part */
	size_t nprog, capprog;
	struct source_quota *quota; /* released as messages go; or NULL */
	char cursor[SOURCE_KEY_MAX + 1]; /* the source whose turn it is */
	bool cursor_next; /* or the one after it */
	long long waiting; /* messages of the batch that waits, or 0 */
	bool throttled; /* the last step found no room */
	int64_t held_logged_ms; /* start of the interval a hold was logged */
	unsigned long files, messages; /* forwarded since the start */
};

/*
 * fwd_open - load the state, finish a step a crash interrupted, and count
 * what each source has waiting into quota (which may be NULL); 0 or -1
 */
int fwd_open(struct fwd *fw, struct inbox *spool, struct inbox *out,
    struct source_quota *quota, const struct conf *cf);

/* fwd_configure - take the throttle and inbox settings of cf */
void fwd_configure(struct fwd *fw, const struct conf *cf);

/*
 * fwd_step - forward what the throttle allows now, up to FWD_MAX_FILES
 * batches; the messages forwarded, 0 if none could go (*wait_ms says how
 * long to wait at most), -1 on failure (logged, nothing lost)
 */
long fwd_step(struct fwd *fw, int *wait_ms);

/* fwd_wait - sleep up to ms, or until a batch arrives or a signal */
void fwd_wait(struct fwd *fw, int ms);

/* fwd_close - release what fwd_open took */
void fwd_close(struct fwd *fw);

/*
 * fwd_state_save - write the throttle, the progress and the plan into
 * forward.state, durably; 0 or -1 (logged)
 */
int fwd_state_save(struct fwd *fw);

/* fwd_state_load - read forward.state if there is one; 0 or -1 (logged) */
int fwd_state_load(struct fwd *fw);

/*
 * fwd_plan - fill fw->plan with batches, left messages at most, taking
 * the sources in turn (each its oldest batches, up to an equal share of
 * what is left), each file read and checked (a corrupt one goes to
 * corrupt/), cut only between batches; a source whose next batch does not
 * fit waits, with its messages in fw->waiting, and has the first turn of
 * the next step, unless the interval is otherwise empty (left is the
 * whole limit): then that batch goes alone. 0, or -1 (logged) with the
 * plan empty
 */
int fwd_plan(struct fwd *fw, long long left);

/* fwd_progress_of - how far earlier steps got into name; NULL: not at all */
struct fwd_progress *fwd_progress_of(struct fwd *fw, const char *name);

/*
 * fwd_progress_set - record that name's leading batches went in parts
 * parts (none: forget it); 0, or -1 out of memory (logged)
 */
int fwd_progress_set(
    struct fwd *fw, const char *name, size_t batches, unsigned parts);

/*
 * fwd_apply - carry out the plan saved in forward.state: write the parts,
 * unlink the files forwarded to their end, and record how far the others
 * went (in forward.state, with the plan empty); 0 with the plan done and
 * empty, or -1 (logged) with the plan kept to be redone
 */
int fwd_apply(struct fwd *fw);

/*
 * fwd_entry_read - read e's batch from fsp.box/incoming into e->data, and
 * the time it last changed into *mtime, by inbox_entry_read (no link
 * followed, no FIFO waited on); 0, or -1 with errno and the reason in why
 * (ENOENT: it is gone; inbox_transient: try again later; any other: it
 * can never be read)
 */
int fwd_entry_read(const struct fwd *fw, struct fwd_entry *e, time_t *mtime,
    char *why, size_t len);

/*
 * fwd_entry_parse - parse and check the text read into e, keeping the
 * document in e->doc; 0, or -1 with why
 */
int fwd_entry_parse(struct fwd_entry *e, char *why, size_t len);

/*
 * fwd_entry_cut - how many batches of e's document, from e->from on, hold
 * its k messages; 0 if no leading batches hold exactly k
 */
size_t fwd_entry_cut(const struct fwd_entry *e);

/* fwd_entry_release - free the text and document a step read for e */
void fwd_entry_release(struct fwd_entry *e);

#endif
