/* statemsg.c - POST /mp/v1/statemsg: a batch into statsys.box */
#include "intake.h"
#include "mp.h"

int
mp_statemsg(struct fcgi_req *req, void *arg)
{
	struct mp *mp = arg;

	return intake_statemsg(req, mp->gc, mp->statsys, false);
}
