/*
 * faultlab guest agent: the guest's /init. It serves commands from the host on the
 * virtio-serial port "lab.agent" (outside a guest: on --fd N, or on its standard input and
 * output with --stdio, e.g. over SSH); README.md beside this file describes the boot
 * sequence and the wire protocol.
 *
 * Build: gcc -static -O2 -Wall -Wextra -o agent agent.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PORT_NAME "lab.agent"
#define GUEST_PATH "/lab/bin:/bin:/sbin:/usr/bin"
#define CHUNK 4096                   /* largest OUT payload */
#define OUT_HIGH (1 << 20)           /* stop reading command output above this much unsent */
#define DRAIN_CHUNKS 256             /* output chunks still read after the command exited */
#define LINE_MAX_LEN (8 << 20)       /* longest request line accepted */
#define ID_MAX 64                    /* longest request id */
#define TIMEOUT_MAX 1000000000000ULL /* largest timeout_ms accepted (~31 years) */
#define PORT_RETRY_US 100000         /* guest: wait between polls while the host is away */
#define CONSOLE_RESTART_US 1000000   /* guest: delay before restarting the console prompt */

struct buf {
	char *data;
	size_t len, cap;
};

struct builtin {
	const char *name;
	int argc; /* including the name */
	int (*fn)(char **argv);
	const char *usage;
};

/* One RUN request, queued until it runs. */
struct job {
	struct job *next;
	char id[ID_MAX + 1];
	unsigned long long timeout_ms;
	char **argv; /* one allocation: the pointers, then the decoded strings */
	const struct builtin *builtin;
	int err; /* nonzero: the request is answered with END error err and errmsg */
	char errmsg[200];
};

/* The command running now. */
static struct {
	struct job *job; /* NULL when idle */
	pid_t pid;
	int out[2];  /* read ends of its stdout and stderr pipes, -1 once closed */
	int errpipe; /* read end of the pipe that carries errno if exec fails */
	int64_t start_us, end_us, deadline_us; /* deadline 0: none */
	int timed_out, reaped, status;
} cur;

static int guest; /* running as the VM's init (not --fd or --stdio) */
/* The host's ends: the virtio port (both), --fd N (both), or --stdio (0 and 1). */
static int in_fd = -1, out_fd = -1;
static int kmsg_fd = -1, kmsg_errno;
static int64_t port_retry_us; /* guest: host away, do not poll the port before this */
static struct buf inbuf, outbuf;
static int skipping; /* discarding the rest of an overlong request line */
static struct job *queue_head, **queue_tail = &queue_head;
static pid_t console_pid;
static int64_t console_restart_us;
static sigset_t orig_mask, poll_mask; /* mask at start; the same without SIGCHLD */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("faultlab-agent: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int buf_reserve(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->len + more <= b->cap)
		return 0;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Queue a frame for the host: a header line and an optional payload, all or nothing. */
static void send_frame(const void *payload, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void send_frame(const void *payload, size_t len, const char *fmt, ...)
{
	char hdr[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(hdr, sizeof hdr, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof hdr || buf_reserve(&outbuf, n + len) < 0) {
		msg("out of memory, dropping a frame for the host");
		return;
	}
	memcpy(outbuf.data + outbuf.len, hdr, n);
	if (len)
		memcpy(outbuf.data + outbuf.len + n, payload, len);
	outbuf.len += n + len;
}

/* The host closed its end (--fd, --stdio) or is not connected (guest). */
static void host_gone(void)
{
	if (!guest) {
		if (cur.job)
			kill(-cur.pid, SIGKILL);
		exit(0);
	}
	inbuf.len = 0; /* a new connection starts with a new line */
	skipping = 0;
	port_retry_us = now_us() + PORT_RETRY_US;
}

/* Write as much queued output as the port takes without blocking. */
static void flush_output(void)
{
	size_t off = 0;

	while (off < outbuf.len) {
		ssize_t n = write(out_fd, outbuf.data + off, outbuf.len - off);
		if (n > 0) {
			off += n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno != EAGAIN) {
			msg("write to host: %s; output dropped", strerror(errno));
			off = outbuf.len;
			host_gone();
		} else {
			break;
		}
	}
	memmove(outbuf.data, outbuf.data + off, outbuf.len - off);
	outbuf.len -= off;
}

/* ---- builtins: they run in a forked child, output on fds 1 and 2 ---- */

static int bi_fail(const char *what, const char *arg)
{
	fprintf(stderr, "%s %s: %s\n", what, arg, strerror(errno));
	return 1;
}

static int bi_kmsg(char **argv)
{
	char rec[16384]; /* larger than any record (CONSOLE_EXT_LOG_MAX is 8 KiB) */

	if (kmsg_fd < 0) {
		errno = kmsg_errno;
		return bi_fail(argv[0], "/dev/kmsg");
	}
	for (;;) {
		ssize_t n = read(kmsg_fd, rec, sizeof rec);
		if (n > 0 && write_all(1, rec, n) < 0)
			return bi_fail(argv[0], "write");
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && errno == EPIPE) { /* the read position moved on to the oldest record */
			fprintf(stderr, "@kmsg: some records were overwritten before they were read\n");
			continue;
		}
		if (n == 0 || errno == EAGAIN) /* no more records */
			return 0;
		return bi_fail(argv[0], "/dev/kmsg");
	}
}

static int bi_cat(char **argv)
{
	char b[65536];
	ssize_t n;
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return bi_fail(argv[0], argv[1]);
	while ((n = read(fd, b, sizeof b)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bi_fail(argv[0], argv[1]);
		if (write_all(1, b, n) < 0)
			return bi_fail(argv[0], "write");
	}
	return 0;
}

static int bi_write(char **argv)
{
	size_t len = strlen(argv[2]);
	ssize_t n;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return bi_fail(argv[0], argv[1]);
	n = write(fd, argv[2], len);
	if (n < 0)
		return bi_fail(argv[0], argv[1]);
	if ((size_t)n != len) {
		fprintf(stderr, "%s %s: short write, %zd of %zu bytes\n", argv[0], argv[1], n, len);
		return 1;
	}
	if (close(fd) < 0)
		return bi_fail(argv[0], argv[1]);
	return 0;
}

/* mkdir -p: create every missing directory of path. */
static int mkdir_p(const char *path)
{
	char dir[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len + 1);
	for (char *p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		if (saved == '\0')
			return 0;
		*p = saved;
	}
}

static int bi_mount(char **argv)
{
	if (mkdir_p(argv[2]) < 0)
		return bi_fail(argv[0], argv[2]);
	if (mount(argv[1], argv[2], argv[3], 0, NULL) < 0)
		return bi_fail(argv[0], argv[1]);
	return 0;
}

static int bi_poweroff(char **argv)
{
	if (!guest) {
		fprintf(stderr, "%s: refused, the agent is not the guest's init\n", argv[0]);
		return 1;
	}
	sync();
	reboot(RB_POWER_OFF);
	return bi_fail(argv[0], "reboot");
}

static const struct builtin builtins[] = {
	{ "@kmsg", 1, bi_kmsg, "@kmsg" },
	{ "@cat", 2, bi_cat, "@cat PATH" },
	{ "@write", 3, bi_write, "@write PATH DATA" },
	{ "@mount", 4, bi_mount, "@mount SOURCE DIR FSTYPE" },
	{ "@poweroff", 1, bi_poweroff, "@poweroff" },
};

/* ---- requests ---- */

static void reject(struct job *j, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reject(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(j->errmsg, sizeof j->errmsg, "faultlab-agent: ");

	va_start(ap, fmt);
	vsnprintf(j->errmsg + n, sizeof j->errmsg - n - 1, fmt, ap);
	va_end(ap);
	strcat(j->errmsg, "\n");
	j->err = err;
}

/* Split off the next space-separated field of *s; NULL once the line is used up. */
static char *next_field(char **s)
{
	char *f = *s, *sp;

	if (!f)
		return NULL;
	sp = strchr(f, ' ');
	if (sp)
		*sp = '\0';
	*s = sp ? sp + 1 : NULL;
	return f;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20; /* lower case */
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode hex string s in place: -1 if it is not hex, -2 if it holds a NUL byte. */
static int unhex(char *s)
{
	size_t n = strlen(s), i;

	if (n % 2)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		if (hi == 0 && lo == 0)
			return -2;
		s[i] = (char)(hi << 4 | lo);
	}
	s[n / 2] = '\0';
	return 0;
}

static int parse_timeout(const char *s, unsigned long long *v)
{
	if (!s || !*s)
		return -1;
	for (*v = 0; *s; s++) {
		if (*s < '0' || *s > '9' || *v > TIMEOUT_MAX)
			return -1;
		*v = *v * 10 + (*s - '0');
	}
	return *v <= TIMEOUT_MAX ? 0 : -1;
}

static int valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0, i;

	if (n == 0 || n > ID_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return 0;
	return 1;
}

/* Fill j->argv from the hex fields in args (one space between fields). */
static void parse_argv(struct job *j, const char *args)
{
	size_t argc = 1, size, i;
	const char *c;
	char *s;

	for (c = args; *c; c++)
		argc += *c == ' ';
	size = (argc + 1) * sizeof(char *) + strlen(args) + 1;
	j->argv = malloc(size);
	if (!j->argv) {
		reject(j, ENOMEM, "out of memory");
		return;
	}
	s = (char *)(j->argv + argc + 1);
	strcpy(s, args);
	for (i = 0; i < argc; i++) {
		int rc;
		j->argv[i] = next_field(&s);
		rc = unhex(j->argv[i]);
		if (rc) {
			reject(j, EINVAL, "argument %zu %s", i, rc == -1 ? "is not hex" : "holds a NUL byte");
			return;
		}
	}
	j->argv[argc] = NULL;

	if (j->argv[0][0] != '@')
		return;
	for (i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (!strcmp(j->argv[0], builtins[i].name))
			j->builtin = &builtins[i];
	if (!j->builtin)
		reject(j, ENOENT, "unknown builtin %s", j->argv[0]);
	else if (argc != (size_t)j->builtin->argc)
		reject(j, EINVAL, "usage: %s", j->builtin->usage);
}

/* RUN <id> <timeout_ms> <hexarg0> [<hexarg1> ...]: queue it, even if malformed. */
static void queue_run(char *rest)
{
	char *id = next_field(&rest), *timeout;
	struct job *j;

	if (!valid_id(id)) {
		msg("ignoring a RUN request without a valid id");
		return;
	}
	j = calloc(1, sizeof *j);
	if (!j) {
		msg("out of memory, ignoring RUN %s", id);
		return;
	}
	strcpy(j->id, id);
	timeout = next_field(&rest);
	if (parse_timeout(timeout, &j->timeout_ms) < 0)
		reject(j, EINVAL, "bad timeout_ms");
	else if (!rest)
		reject(j, EINVAL, "no command");
	else
		parse_argv(j, rest);
	*queue_tail = j;
	queue_tail = &j->next;
}

static void send_ready(void)
{
	struct utsname u;

	uname(&u);
	send_frame(NULL, 0, "READY faultlab-agent/1 %s %s %ld\n", u.release, u.machine,
		   sysconf(_SC_PAGESIZE));
}

static void handle_line(char *line, size_t len)
{
	char *rest;

	if (len == 0)
		return;
	if (memchr(line, '\0', len)) {
		msg("ignoring a request line holding a NUL byte");
		return;
	}
	rest = strchr(line, ' ');
	if (rest)
		*rest++ = '\0';
	if (!strcmp(line, "HELLO"))
		send_ready();
	else if (!strcmp(line, "RUN"))
		queue_run(rest);
	else
		msg("ignoring unknown request '%.40s'", line);
}

static void read_requests(void)
{
	char *start, *end, *nl;
	size_t rest;
	ssize_t n;

	if (buf_reserve(&inbuf, 65536) < 0) {
		msg("out of memory, dropping input");
		inbuf.len = 0;
		skipping = 1;
		return;
	}
	n = read(in_fd, inbuf.data + inbuf.len, 65536);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (n < 0)
			msg("read from host: %s", strerror(errno));
		host_gone();
		return;
	}
	inbuf.len += n;

	start = inbuf.data;
	end = inbuf.data + inbuf.len;
	while ((nl = memchr(start, '\n', end - start))) {
		*nl = '\0';
		if (!skipping)
			handle_line(start, nl - start);
		skipping = 0;
		start = nl + 1;
	}
	rest = end - start;
	if (rest > LINE_MAX_LEN) {
		msg("request line longer than %d bytes, discarded", LINE_MAX_LEN);
		skipping = 1;
		rest = 0;
	}
	memmove(inbuf.data, start, rest);
	inbuf.len = rest;
}

/* ---- running commands ---- */

/* In a child: undo the agent's signal setup before running anything. */
static void reset_signals(void)
{
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &orig_mask, NULL);
}

/* In the command's child: p holds the stdout, stderr and exec-error pipes. */
static void run_command(struct job *j, int p[3][2])
{
	int null, e;

	reset_signals();
	setpgid(0, 0);
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, 0);
	dup2(p[0][1], 1);
	dup2(p[1][1], 2);
	if (chdir("/") < 0)
		fprintf(stderr, "faultlab-agent: chdir /: %s\n", strerror(errno));
	if (j->builtin)
		_exit(j->builtin->fn(j->argv));
	execvp(j->argv[0], j->argv);
	e = errno;
	fprintf(stderr, "faultlab-agent: cannot run %s: %s\n", j->argv[0], strerror(e));
	write_all(p[2][1], &e, sizeof e);
	_exit(127);
}

/* Fork the command of j; on failure set j->err. */
static void launch(struct job *j)
{
	int64_t start = now_us();
	int p[3][2], i, k;
	pid_t pid;

	for (i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0)
			break;
	pid = i < 3 ? -1 : fork();
	if (pid < 0) {
		reject(j, errno, "cannot start: %s", strerror(errno));
		for (k = 0; k < i; k++) {
			close(p[k][0]);
			close(p[k][1]);
		}
		return;
	}
	if (pid == 0)
		run_command(j, p);
	setpgid(pid, pid); /* also here, so a kill on timeout cannot race the child */
	for (i = 0; i < 3; i++) {
		close(p[i][1]);
		fcntl(p[i][0], F_SETFL, O_NONBLOCK);
	}
	cur.job = j;
	cur.pid = pid;
	cur.out[0] = p[0][0];
	cur.out[1] = p[1][0];
	cur.errpipe = p[2][0];
	cur.start_us = start;
	cur.deadline_us = j->timeout_ms ? start + (int64_t)j->timeout_ms * 1000 : 0;
	cur.timed_out = cur.reaped = 0;
}

static void free_job(struct job *j)
{
	free(j->argv);
	free(j);
}

/* Take the next request off the queue and start it, or answer it if it is rejected. */
static void start_next(void)
{
	struct job *j = queue_head;

	queue_head = j->next;
	if (!queue_head)
		queue_tail = &queue_head;
	if (!j->err)
		launch(j);
	if (j->err) {
		send_frame(j->errmsg, strlen(j->errmsg), "OUT %s 2 %zu\n", j->id, strlen(j->errmsg));
		send_frame(NULL, 0, "END %s error %d 0\n", j->id, j->err);
		free_job(j);
	}
}

/* Forward one chunk of the command's output on fd i+1: 1 if some was read, 0 if none
 * is there now, -1 once the pipe is closed. */
static int forward_output(int i)
{
	char chunk[CHUNK];
	ssize_t n;

	do
		n = read(cur.out[i], chunk, sizeof chunk);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		send_frame(chunk, n, "OUT %s %d %zd\n", cur.job->id, i + 1, n);
		return 1;
	}
	if (n < 0 && errno == EAGAIN)
		return 0;
	close(cur.out[i]);
	cur.out[i] = -1;
	return -1;
}

/* The command was reaped: forward what it left in its pipes and send END. Output
 * written later by background processes it left behind is not forwarded. */
static void finish_job(void)
{
	int i, k, e = 0;
	long long elapsed = cur.end_us - cur.start_us;
	const char *id = cur.job->id;

	for (i = 0; i < 2; i++) {
		for (k = 0; k < DRAIN_CHUNKS && cur.out[i] >= 0; k++)
			if (forward_output(i) <= 0)
				break;
		if (cur.out[i] >= 0)
			close(cur.out[i]);
		cur.out[i] = -1;
	}
	if (read(cur.errpipe, &e, sizeof e) != sizeof e)
		e = 0;
	close(cur.errpipe);

	if (e)
		send_frame(NULL, 0, "END %s error %d %lld\n", id, e, elapsed);
	else if (cur.timed_out)
		send_frame(NULL, 0, "END %s timeout %d %lld\n", id, SIGKILL, elapsed);
	else if (WIFEXITED(cur.status))
		send_frame(NULL, 0, "END %s exit %d %lld\n", id, WEXITSTATUS(cur.status), elapsed);
	else
		send_frame(NULL, 0, "END %s signal %d %lld\n", id, WTERMSIG(cur.status), elapsed);
	free_job(cur.job);
	cur.job = NULL;
}

static void reap_children(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (cur.job && pid == cur.pid) {
			cur.reaped = 1;
			cur.status = status;
			cur.end_us = now_us();
		} else if (console_pid && pid == console_pid) {
			console_pid = 0;
			console_restart_us = now_us() + CONSOLE_RESTART_US;
		}
		/* anything else is an orphan that was re-parented to us */
	}
}

/* ---- guest duties ---- */

/* Console prompt without a shell: run lines split on blanks, print their status. */
static void line_executor(void)
{
	char *line = NULL, *argv[64], *t;
	size_t cap = 0;
	int argc, st;
	pid_t pid;

	for (;;) {
		fputs("faultlab# ", stdout);
		fflush(stdout);
		if (getline(&line, &cap, stdin) < 0)
			_exit(0);
		argc = 0;
		for (t = strtok(line, " \t\n"); t && argc < 63; t = strtok(NULL, " \t\n"))
			argv[argc++] = t;
		argv[argc] = NULL;
		if (!argc)
			continue;
		pid = fork();
		if (pid == 0) {
			execvp(argv[0], argv);
			fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
			_exit(127);
		}
		if (pid < 0) {
			perror("fork");
			continue;
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st))
			printf("[exit %d]\n", WEXITSTATUS(st));
		else
			printf("[signal %d]\n", WTERMSIG(st));
	}
}

/* Fork the console prompt: /bin/sh as a session leader on the console, or the line
 * executor when there is no shell. */
static void start_console(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0) {
		msg("cannot start the console prompt: %s", strerror(errno));
		console_restart_us = now_us() + CONSOLE_RESTART_US;
		return;
	}
	if (pid > 0) {
		console_pid = pid;
		return;
	}
	reset_signals();
	if (in_fd >= 0)
		close(in_fd); /* the guest's port: out_fd too */
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	setsid();
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		if (ioctl(fd, TIOCSCTTY, 1) < 0)
			msg("console is not a controlling terminal: %s", strerror(errno));
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (access("/bin/sh", X_OK) == 0) {
		execl("/bin/sh", "sh", (char *)NULL);
		msg("exec /bin/sh: %s", strerror(errno));
		_exit(127);
	}
	line_executor();
}

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) < 0)
		msg("mount %s on %s: %s", type, dir, strerror(errno));
}

/* Read a small text file into s, without its trailing newline. */
static int read_line_file(const char *path, char *s, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, s, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	s[n] = '\0';
	s[strcspn(s, "\n")] = '\0';
	return 0;
}

/* Open the virtio port named lab.agent as dev, waiting up to 5 s for it to appear
 * (devtmpfs may create the node a little after sysfs shows the port). */
static int open_port(char *dev, size_t size)
{
	const char *dir = "/sys/class/virtio-ports";
	char path[512], name[64];
	struct dirent *e;
	int tries, fd;
	DIR *d;

	for (tries = 0; tries < 50; tries++) {
		d = opendir(dir);
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s/name", dir, e->d_name);
			if (read_line_file(path, name, sizeof name) < 0 || strcmp(name, PORT_NAME))
				continue;
			snprintf(dev, size, "/dev/%s", e->d_name);
			fd = open(dev, O_RDWR | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0) {
				closedir(d);
				return fd;
			}
		}
		if (d)
			closedir(d);
		usleep(100000);
	}
	return -1;
}

/* PID-1 duties before serving: mounts, console on fds 0-2, PATH, the port. */
static void boot(void)
{
	char dev[300];
	int fd;

	/* /dev first, so that the console can be opened for the messages that follow */
	mount_fs("devtmpfs", "/dev");
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("debugfs", "/sys/kernel/debug");
	mount_fs("tmpfs", "/tmp");
	mount_fs("cgroup2", "/sys/fs/cgroup");
	setenv("PATH", GUEST_PATH, 1);

	in_fd = out_fd = open_port(dev, sizeof dev);
	if (in_fd >= 0)
		msg("ready on %s", dev);
	else
		msg("no virtio port named %s, serving the console only", PORT_NAME);
}

/* ---- main loop ---- */

static void on_sigchld(int sig)
{
	(void)sig; /* it only has to interrupt ppoll() */
}

static struct timespec *poll_timeout(struct timespec *ts, int64_t now)
{
	int64_t wake = INT64_MAX, d;

	if (cur.job && cur.deadline_us && !cur.timed_out)
		wake = cur.deadline_us;
	if (in_fd >= 0 && port_retry_us > now && port_retry_us < wake)
		wake = port_retry_us;
	if (guest && !console_pid && console_restart_us < wake)
		wake = console_restart_us;
	if (wake == INT64_MAX)
		return NULL;
	d = wake > now ? wake - now : 0;
	ts->tv_sec = d / 1000000;
	ts->tv_nsec = d % 1000000 * 1000;
	return ts;
}

/* Serve forever: SIGCHLD is blocked except inside ppoll(), so a child's exit always
 * wakes the loop and never interrupts anything else. */
static void __attribute__((noreturn)) serve(void)
{
	struct pollfd pfd[4];
	struct timespec ts;
	int64_t now;
	int i, host;

	for (;;) {
		reap_children();
		if (cur.job && cur.reaped)
			finish_job();
		while (!cur.job && queue_head)
			start_next();
		now = now_us();
		if (cur.job && !cur.reaped && cur.deadline_us && !cur.timed_out &&
		    now >= cur.deadline_us) {
			kill(-cur.pid, SIGKILL);
			kill(cur.pid, SIGKILL); /* in case it left its process group */
			cur.timed_out = 1;
		}
		if (guest && !console_pid && now >= console_restart_us)
			start_console();
		if (out_fd >= 0 && outbuf.len)
			flush_output();

		/* the host unless it is away; command output unless the host lags */
		host = now >= port_retry_us;
		pfd[0].fd = in_fd >= 0 && host ? in_fd : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = out_fd >= 0 && host && outbuf.len ? out_fd : -1;
		pfd[1].events = POLLOUT;
		for (i = 0; i < 2; i++) {
			pfd[2 + i].fd = cur.job && outbuf.len < OUT_HIGH ? cur.out[i] : -1;
			pfd[2 + i].events = POLLIN;
		}
		if (ppoll(pfd, 4, poll_timeout(&ts, now), &poll_mask) < 0) {
			if (errno != EINTR)
				msg("ppoll: %s", strerror(errno));
			continue;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			read_requests();
		for (i = 0; i < 2; i++)
			if (pfd[2 + i].revents)
				forward_output(i);
	}
}

/* Serve the host on fds in and out (--fd, --stdio): non-blocking, not inherited. */
static int use_host_fds(int in, int out)
{
	int fds[2] = { in, out }, i;

	for (i = 0; i < 2; i++) {
		if (fds[i] < 0 || fcntl(fds[i], F_GETFD) < 0)
			return -1;
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
	}
	in_fd = in;
	out_fd = out;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_sigchld, .sa_flags = SA_NOCLDSTOP };
	sigset_t block;
	char *end;
	long fd;

	if (argc == 3 && !strcmp(argv[1], "--fd")) {
		fd = strtol(argv[2], &end, 10);
		if (*end || end == argv[2] || fd < 0 || fd > INT_MAX || use_host_fds(fd, fd) < 0) {
			msg("--fd %s: not an open file descriptor", argv[2]);
			return 2;
		}
	} else if (argc == 2 && !strcmp(argv[1], "--stdio")) {
		if (use_host_fds(0, 1) < 0) {
			msg("--stdio: standard input or output is not open");
			return 2;
		}
	} else if (argc == 1) {
		guest = 1;
	} else {
		fprintf(stderr, "usage: %s [--fd N | --stdio]\n", argv[0]);
		return 2;
	}

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &orig_mask);
	poll_mask = orig_mask;
	sigdelset(&poll_mask, SIGCHLD);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (guest) {
		boot();
		/*
		 * The lab's link to the guest must survive the memory pressure and the kernel
		 * bugs the tests cause: nothing of the agent is ever swapped out or reclaimed.
		 * Its children start unlocked (fork does not inherit memory locks).
		 */
		if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
			msg("mlockall: %s (the agent can be swapped out)", strerror(errno));
	}
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	kmsg_errno = errno;
	serve();
}
