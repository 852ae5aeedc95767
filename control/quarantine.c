/*
 * quarantine.c - keep quarantined messages durably (local directory)
 *
 *	See quarantine.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "quarantine.h"

/* write_all - write every iovec, retrying short writes */
static int write_all(int fd, const struct iovec *iov, size_t niov)
{
	size_t i;

	for (i = 0; i < niov; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			ssize_t n = write(fd, p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -1;
			p += n;
			left -= (size_t)n;
		}
	}
	return 0;
}

/* store_file - DIR/NAME through DIR/.NAME.tmp, fsync, rename */
static int store_file(const char *dir, const char *name,
		      const struct iovec *iov, size_t niov, char *err,
		      size_t errlen)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= (int)sizeof(tmp)
	    || snprintf(final, sizeof(final), "%s/%s", dir, name) >= (int)sizeof(final)) {
		snprintf(err, errlen, "quarantine path too long: %s/%s", dir, name);
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, iov, niov) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, final) < 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp, final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* quarantine_store - message and metadata, durable before returning 0 */
int quarantine_store(const char *dir, const char *qid, const char *meta_json,
		     const struct iovec *iov, size_t niov, char *err,
		     size_t errlen)
{
	char name[NAME_MAX];
	struct iovec meta[2];
	int dfd;

	meta[0].iov_base = (void *)meta_json;
	meta[0].iov_len = strlen(meta_json);
	meta[1].iov_base = (void *)"\n";
	meta[1].iov_len = 1;
	snprintf(name, sizeof(name), "%s.eml", qid);
	if (store_file(dir, name, iov, niov, err, errlen) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.json", qid);
	if (store_file(dir, name, meta, 2, err, errlen) < 0)
		return -1;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0
	    || fsync(dfd) < 0) {
		snprintf(err, errlen, "fsync directory %s: %s", dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}
