/*
 * spool.c - a bounded on-disk spool of text lines
 *
 *	See spool.h. The files' sizes are tracked in memory (a sorted list
 *	of ids and sizes) so that the bound is checked without stat().
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "spool.h"

#define SPOOL_IOV_MAX	64	/* lines per writev */

struct spool_file {
	uint64_t id;
	uint64_t bytes;
};

struct spool {
	char dir[PATH_MAX];
	uint64_t max_bytes;
	uint64_t bytes;			/* all files */
	struct spool_file *files;	/* oldest first */
	size_t nfiles, cap;
	int fd;				/* current file, -1 when sealed */
	uint64_t next_id;
};

/* file_path - DIR/spool-ID.jsonl */
static void file_path(const struct spool *sp, uint64_t id, char *buf,
		      size_t size)
{
	snprintf(buf, size, "%s/spool-%020" PRIu64 ".jsonl", sp->dir, id);
}

/* add_file - remember a file, keeping the list sorted by id */
static int add_file(struct spool *sp, uint64_t id, uint64_t bytes)
{
	size_t i;

	if (sp->nfiles == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 16;
		struct spool_file *f = realloc(sp->files, cap * sizeof(*f));

		if (f == NULL)
			return -1;
		sp->files = f;
		sp->cap = cap;
	}
	for (i = sp->nfiles; i > 0 && sp->files[i - 1].id > id; i--)
		sp->files[i] = sp->files[i - 1];
	sp->files[i].id = id;
	sp->files[i].bytes = bytes;
	sp->nfiles++;
	sp->bytes += bytes;
	return 0;
}

/* sync_dir - make a new or removed file name durable */
static void sync_dir(const struct spool *sp)
{
	int dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
}

/* mkdir_parents - the directories above path (0755) */
static int mkdir_parents(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* spool_open - the spool in dir, with what a previous run left */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err,
			 size_t errlen)
{
	struct spool *sp;
	struct dirent *de;
	DIR *d;

	if (mkdir_parents(dir) < 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
		snprintf(err, errlen, "create spool directory %s: %s", dir,
			 strerror(errno));
		return NULL;
	}
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		snprintf(err, errlen, "spool: %s", strerror(errno));
		return NULL;
	}
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	sp->max_bytes = max_bytes;
	sp->fd = -1;
	sp->next_id = 1;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "read spool directory %s: %s", dir,
			 strerror(errno));
		free(sp);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX + 64], *end;
		unsigned long long id;
		struct stat st;

		if (strncmp(de->d_name, "spool-", 6) != 0)
			continue;
		id = strtoull(de->d_name + 6, &end, 10);
		if (strcmp(end, ".jsonl") != 0)
			continue;
		file_path(sp, id, path, sizeof(path));
		if (stat(path, &st) < 0 || add_file(sp, id, (uint64_t)st.st_size) < 0) {
			snprintf(err, errlen, "spool file %s: %s", path,
				 strerror(errno));
			closedir(d);
			spool_close(sp);
			return NULL;
		}
		if (id >= sp->next_id)
			sp->next_id = id + 1;
	}
	closedir(d);
	return sp;
}

/* open_current - begin a new file */
static int open_current(struct spool *sp)
{
	char path[PATH_MAX + 64];
	uint64_t id = sp->next_id;

	file_path(sp, id, path, sizeof(path));
	sp->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sp->fd < 0)
		return -1;
	if (add_file(sp, id, 0) < 0) {
		close(sp->fd);
		sp->fd = -1;
		unlink(path);
		errno = ENOMEM;
		return -1;
	}
	sp->next_id++;
	sync_dir(sp);
	return 0;
}

/* seal - close the current file; the next append begins another */
static void seal(struct spool *sp)
{
	if (sp->fd >= 0) {
		close(sp->fd);
		sp->fd = -1;
	}
}

/* write_lines - lines[0..n) with newlines, in writev batches */
static int write_lines(int fd, char *const *lines, size_t n)
{
	struct iovec iov[SPOOL_IOV_MAX * 2];
	size_t i = 0;

	while (i < n) {
		size_t k = 0, total = 0;
		ssize_t w;

		for (; i < n && k < SPOOL_IOV_MAX * 2; i++) {
			iov[k].iov_base = lines[i];
			iov[k].iov_len = strlen(lines[i]);
			total += iov[k++].iov_len;
			iov[k].iov_base = (void *)"\n";
			iov[k++].iov_len = 1;
			total++;
		}
		/* O_APPEND: a short write only happens when the disk is
		 * full; the torn line is skipped at replay */
		w = writev(fd, iov, (int)k);
		if (w < 0 || (size_t)w != total) {
			if (w >= 0)
				errno = ENOSPC;
			return -1;
		}
	}
	return 0;
}

/* spool_append - as many lines as fit, durable on return */
size_t spool_append(struct spool *sp, char *const *lines, size_t n)
{
	struct spool_file *cur;
	uint64_t add = 0;
	size_t fit;

	for (fit = 0; fit < n; fit++) {
		uint64_t len = strlen(lines[fit]) + 1;

		if (sp->bytes + add + len > sp->max_bytes)
			break;
		add += len;
	}
	if (fit == 0) {
		errno = n ? ENOSPC : 0;
		return 0;
	}
	if (sp->fd >= 0 && sp->files[sp->nfiles - 1].bytes >= SPOOL_FILE_MAX)
		seal(sp);
	if (sp->fd < 0 && open_current(sp) < 0)
		return 0;
	cur = &sp->files[sp->nfiles - 1];
	if (write_lines(sp->fd, lines, fit) < 0 || fdatasync(sp->fd) < 0) {
		int saved = errno;
		struct stat st;

		/* count what reached the file, torn or not */
		if (fstat(sp->fd, &st) == 0 && (uint64_t)st.st_size >= cur->bytes) {
			sp->bytes += (uint64_t)st.st_size - cur->bytes;
			cur->bytes = (uint64_t)st.st_size;
		}
		seal(sp);
		errno = saved;
		return 0;
	}
	cur->bytes += add;
	sp->bytes += add;
	if (fit < n)
		errno = ENOSPC;
	return fit;
}

/* spool_next - the oldest file, whole */
int spool_next(struct spool *sp, char **buf, size_t *len, uint64_t *id)
{
	char path[PATH_MAX + 64];
	struct stat st;
	char *b;
	size_t got = 0;
	int fd;

	if (sp->nfiles == 0)
		return 0;
	if (sp->fd >= 0 && sp->nfiles == 1)
		seal(sp);
	file_path(sp, sp->files[0].id, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (b = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, b + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	b[got] = 0;
	*buf = b;
	*len = got;
	*id = sp->files[0].id;
	return 1;
}

/* spool_done - delete file id */
int spool_done(struct spool *sp, uint64_t id)
{
	char path[PATH_MAX + 64];
	size_t i;

	for (i = 0; i < sp->nfiles && sp->files[i].id != id; i++)
		;
	if (i == sp->nfiles) {
		errno = ENOENT;
		return -1;
	}
	if (sp->fd >= 0 && i == sp->nfiles - 1)
		seal(sp);
	file_path(sp, id, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return -1;
	sync_dir(sp);
	sp->bytes -= sp->files[i].bytes;
	memmove(&sp->files[i], &sp->files[i + 1],
		(sp->nfiles - i - 1) * sizeof(*sp->files));
	sp->nfiles--;
	return 0;
}

/* spool_bytes - bytes not yet replayed */
uint64_t spool_bytes(const struct spool *sp)
{
	return sp->bytes;
}

/* spool_close - close; the files stay for the next run */
void spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	seal(sp);
	free(sp->files);
	free(sp);
}
