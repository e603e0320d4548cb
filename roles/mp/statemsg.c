/* statemsg.c - POST /mp/v1/statemsg: an approved client's own batch into
 * statsys.box */
#include "intake.h"
#include "mp.h"

int
mp_statemsg(struct fcgi_req *req, void *arg)
{
	struct mp *mp = arg;
	struct mp_caller c;
	int rc = 0;

	if (mp_caller_admit(req, mp, &c, NULL) == 0)
		rc = intake_statemsg(req, mp->gc, mp->statsys, c.guid);
	mp_caller_free(&c);
	return rc;
}
