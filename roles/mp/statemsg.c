/* statemsg.c - POST /mp/v1/statemsg: a batch into statsys.box */
#include "intake.h"
#include "mp.h"

int
mp_statemsg(struct fcgi_req *req, struct mp *mp)
{
	return intake_statemsg(req, mp->gc, mp->statsys);
}
