/*
 * evloop.h - the one way our event-driven programs make their libevent
 * loop
 */
#ifndef SITESYS_EVLOOP_H
#define SITESYS_EVLOOP_H

#include <event2/event.h>

/*
 * evloop_new - an event loop whose epoll registrations are changed in a
 * batch once per turn (libevent's changelist), so that a write begun and
 * finished in one turn costs no epoll_ctl; safe because none of our
 * descriptors is a dup() of another. NULL when out of memory.
 */
struct event_base *evloop_new(void);

#endif
