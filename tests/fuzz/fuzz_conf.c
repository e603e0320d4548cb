/*
 * fuzz_conf.c - the configuration file, sitesys.conf(5), as every
 * program loads it (conf_load): the input is the file, written to a
 * memfd and opened by its /proc/self/fd name; of a file that loads, every
 * setting is read back within its bounds
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "util/conf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], err[1024] = "";
	struct conf *cf;
	int fd;

	if ((fd = memfd_create("sitesys.conf", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((cf = conf_load(path, err, sizeof(err))) != NULL) {
		for (const struct conf_setting *s = conf_settings;
		     s->section != NULL; s++) {
			if (s->type == CONF_INT) {
				long long v = conf_int(cf, s->section, s->name);

				FUZZ_ASSERT(v >= s->min && v <= s->max);
			} else if (s->type == CONF_BOOL)
				(void)conf_bool(cf, s->section, s->name);
			else
				FUZZ_ASSERT(conf_str(cf, s->section, s->name));
		}
		conf_free(cf);
	} else
		FUZZ_ASSERT(strncmp(err, path, strlen(path)) == 0);
	close(fd);
	return 0;
}
