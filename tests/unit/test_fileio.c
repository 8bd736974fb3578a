/* Atomic writes: a reader sees the old file or the new one, and a writer killed at any moment
 * leaves the old file intact (its temporary file is removed by the next writer). Also whole-file
 * reads with a size limit, mkdir -p, and error messages that name the path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

#include "sigloop/fileio.h"

static char g_dir[1024];

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", g_dir, name);
}

static void assert_content_n(const char *path, const char *want, size_t want_len)
{
    char *data;
    size_t len;
    if (sl_read_file(path, 1 << 26, &data, &len) != SL_OK) fail_msg("%s", sl_last_error());
    if (len != want_len) fail_msg("%s: %zu bytes, want %zu", path, len, want_len);
    assert_memory_equal(data, want, len);
    assert_int_equal(data[len], '\0');
    free(data);
}

static void assert_content(const char *path, const char *want)
{
    assert_content_n(path, want, strlen(want));
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

static void test_write_commit_read(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "a.txt");
    assert_int_equal(sl_write_file_atomic(p, "first\n", 6), SL_OK);
    assert_content(p, "first\n");
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));
    sl_afile *f;
    assert_int_equal(sl_afile_open(&f, p), SL_OK);
    assert_non_null(f);
    fprintf(sl_afile_stream(f), "second %d\n", 2);
    fflush(sl_afile_stream(f));
    assert_content(p, "first\n"); /* not visible before the commit, even once flushed */
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_true(exists(tmp)); /* beside the target */
    assert_int_equal(sl_afile_commit(f), SL_OK);
    assert_content(p, "second 2\n");
    assert_false(exists(tmp));
    /* empty content */
    assert_int_equal(sl_write_file_atomic(p, "", 0), SL_OK);
    assert_content(p, "");
    /* a megabyte of every byte value, read back exactly */
    size_t n = 1 << 20;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++) big[i] = (char)(i * 131 + (i >> 9));
    assert_int_equal(sl_write_file_atomic(p, big, n), SL_OK);
    assert_content_n(p, big, n);
    free(big);
    /* a new file (no old one) */
    path_of(p, sizeof p, "fresh.bin");
    assert_false(exists(p));
    assert_int_equal(sl_write_file_atomic(p, "\0\1\2", 3), SL_OK);
    assert_content_n(p, "\0\1\2", 3);
}

static void test_abort(void **state)
{
    (void)state;
    char p[1100], tmp[1200];
    path_of(p, sizeof p, "ab.txt");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_int_equal(sl_write_file_atomic(p, "old\n", 4), SL_OK);
    sl_afile *f;
    assert_int_equal(sl_afile_open(&f, p), SL_OK);
    for (int i = 0; i < 10000; i++) fputs("new content that will never land\n", sl_afile_stream(f));
    assert_true(exists(tmp));
    sl_afile_abort(f);
    assert_content(p, "old\n");
    assert_false(exists(tmp));
    sl_afile_abort(NULL);
    /* abort of a target that never existed leaves nothing */
    path_of(p, sizeof p, "never.txt");
    assert_int_equal(sl_afile_open(&f, p), SL_OK);
    fputs("x", sl_afile_stream(f));
    sl_afile_abort(f);
    assert_false(exists(p));
}

/* The child opens a writer on a file with old content, writes far more than the old file holds,
 * and is killed before committing: by itself (SIGKILL right after writing) or by the parent while
 * it is still writing. The target keeps exactly the old content and the next writer commits,
 * removing the dead writer's temporary file. */
static void killed_writer(int kill_from_parent)
{
    char p[1100], stray[1200];
    path_of(p, sizeof p, kill_from_parent ? "k2.txt" : "k1.txt");
    const char *old = "the old content\n";
    assert_int_equal(sl_write_file_atomic(p, old, strlen(old)), SL_OK);
    int sync_pipe[2];
    assert_int_equal(pipe(sync_pipe), 0);
    fflush(NULL); /* nothing buffered in the parent is written twice */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sync_pipe[0]);
        sl_afile *f;
        if (sl_afile_open(&f, p) != SL_OK) _exit(3);
        FILE *s = sl_afile_stream(f);
        for (int i = 0; i < 100000; i++) fprintf(s, "new line %d of a much longer file\n", i);
        fflush(s);
        if (write(sync_pipe[1], "x", 1) != 1) _exit(4);
        if (!kill_from_parent) raise(SIGKILL);
        for (;;) fputs("still writing, never committing\n", s); /* until the parent kills us */
    }
    close(sync_pipe[1]);
    char c;
    assert_int_equal(read(sync_pipe[0], &c, 1), 1);
    close(sync_pipe[0]);
    if (kill_from_parent) {
        sleep_us(20000); /* let it write some more */
        assert_int_equal(kill(pid, SIGKILL), 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
        fail_msg("the writer was not killed (status %d): it could not open %s?", status, p);
    assert_content(p, old);
    /* the dead writer's temporary file is there, and big */
    snprintf(stray, sizeof stray, "%s.tmp.%ld", p, (long)pid);
    struct stat sb;
    assert_int_equal(stat(stray, &sb), 0);
    assert_true(sb.st_size > 1000000);
    /* the next writer commits normally and removes it */
    assert_int_equal(sl_write_file_atomic(p, "after\n", 6), SL_OK);
    assert_content(p, "after\n");
    assert_false(exists(stray));
}

static void test_killed_writer_self(void **state)
{
    (void)state;
    killed_writer(0);
}

static void test_killed_writer_parent(void **state)
{
    (void)state;
    killed_writer(1);
}

/* A child commits A and B in turn, as fast as it can; the parent kills it at varying moments,
 * mid-write or mid-commit. The target is always exactly A or B, never empty, short or mixed. */
static void test_killed_at_random_moments(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "race.bin");
    size_t n = 200000;
    char *a = malloc(n), *b = malloc(n);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 'A', n);
    memset(b, 'B', n);
    assert_int_equal(sl_write_file_atomic(p, a, n), SL_OK);
    int saw_b = 0;
    for (int round = 0; round < 12; round++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            for (unsigned k = 1;; k++)
                if (sl_write_file_atomic(p, k % 2 ? b : a, n) != SL_OK) _exit(3);
        }
        sleep_us(1000 + 8000L * round); /* 1 to 89 ms */
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status)) fail_msg("round %d: the writer failed (status %d)", round, status);
        char *data;
        size_t len;
        assert_int_equal(sl_read_file(p, n, &data, &len), SL_OK);
        if (len != n) fail_msg("round %d: %zu bytes, want %zu", round, len, n);
        int is_a = memcmp(data, a, n) == 0, is_b = memcmp(data, b, n) == 0;
        if (!is_a && !is_b) fail_msg("round %d: a mix of old and new content", round);
        saw_b |= is_b;
        free(data);
    }
    assert_true(saw_b); /* the children did commit: the test saw new content */
    /* the last round's temporary file is cleaned up by the next writer */
    assert_int_equal(sl_write_file_atomic(p, "done", 4), SL_OK);
    free(a);
    free(b);
}

/* Stray temporary files: only those of dead writers of the same name are removed. */
static void test_stray_temp_files(void **state)
{
    (void)state;
    char p[1100], mine[1200], live[1200], dead[1200], other[1200], odd[1200];
    path_of(p, sizeof p, "st.txt");
    /* a live process (a child waiting for its pipe to close) and one that just ended */
    int hold[2];
    assert_int_equal(pipe(hold), 0);
    fflush(NULL);
    pid_t live_pid = fork();
    assert_true(live_pid >= 0);
    if (live_pid == 0) {
        char c;
        close(hold[1]);
        (void)!read(hold[0], &c, 1);
        _exit(0);
    }
    close(hold[0]);
    pid_t dead_pid = fork();
    assert_true(dead_pid >= 0);
    if (dead_pid == 0) _exit(0);
    assert_int_equal(waitpid(dead_pid, NULL, 0), dead_pid);
    snprintf(mine, sizeof mine, "%s.tmp.%ld", p, (long)getpid());
    snprintf(live, sizeof live, "%s.tmp.%ld", p, (long)live_pid);
    snprintf(dead, sizeof dead, "%s.tmp.%ld", p, (long)dead_pid);
    path_of(other, sizeof other, "st.txt2.tmp.999999");
    path_of(odd, sizeof odd, "st.txt.tmp.12ab");
    const char *all[] = {mine, live, dead, other, odd};
    for (int i = 0; i < 5; i++) {
        FILE *f = fopen(all[i], "w");
        assert_non_null(f);
        fputs("stale", f);
        fclose(f);
    }
    assert_int_equal(sl_write_file_atomic(p, "fresh", 5), SL_OK);
    assert_content(p, "fresh");
    assert_false(exists(mine));  /* our own pid: nobody else writes it */
    assert_true(exists(live));   /* a live writer's: left alone */
    assert_false(exists(dead));  /* its writer is gone */
    assert_true(exists(other));  /* another target's */
    assert_true(exists(odd));    /* not a temporary file name */
    close(hold[1]); /* the live child ends */
    assert_int_equal(waitpid(live_pid, NULL, 0), live_pid);
    unlink(live);
    unlink(other);
    unlink(odd);
}

static void test_errors_name_the_path(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "no/such/folder/x.txt");
    assert_int_equal(sl_write_file_atomic(p, "x", 1), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "no/such/folder/x.txt: cannot write: No such file or directory"));
    assert_null(strchr(sl_last_error(), '\n'));
    sl_afile *f = (sl_afile *)&f;
    assert_int_equal(sl_afile_open(&f, p), SL_EIO);
    assert_null(f);
    char *data = (char *)p;
    size_t len = 99;
    assert_int_equal(sl_read_file(p, 10, &data, &len), SL_EIO);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_non_null(strstr(sl_last_error(), "no/such/folder/x.txt: cannot open: No such file or directory"));
    /* a folder where the target should be: the rename fails, nothing is left behind */
    path_of(p, sizeof p, "a_folder");
    assert_int_equal(sl_mkdirs(p), SL_OK);
    assert_int_equal(sl_write_file_atomic(p, "x", 1), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "a_folder: cannot write: "));
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_false(exists(tmp));
    /* reading a folder fails with its name */
    assert_int_equal(sl_read_file(p, 100, &data, &len), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "a_folder: "));
    assert_int_equal(sl_afile_open(&f, ""), SL_EARG);
}

static void test_read_limit(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "big.txt");
    char buf[10000];
    memset(buf, 'a', sizeof buf);
    assert_int_equal(sl_write_file_atomic(p, buf, sizeof buf), SL_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(sl_read_file(p, 9999, &data, &len), SL_EFORMAT);
    assert_null(data);
    assert_non_null(strstr(sl_last_error(), "big.txt: larger than 9999 bytes"));
    assert_int_equal(sl_read_file(p, 4096, &data, &len), SL_EFORMAT);
    assert_int_equal(sl_read_file(p, 10000, &data, &len), SL_OK);
    assert_int_equal(len, 10000);
    assert_int_equal(data[10000], '\0');
    free(data);
    /* exactly at the growth steps */
    for (size_t n = 4095; n <= 4097; n++) {
        assert_int_equal(sl_write_file_atomic(p, buf, n), SL_OK);
        assert_int_equal(sl_read_file(p, n, &data, &len), SL_OK);
        assert_int_equal(len, n);
        free(data);
        assert_int_equal(sl_read_file(p, n - 1, &data, &len), SL_EFORMAT);
    }
    /* an empty file fits any limit */
    assert_int_equal(sl_write_file_atomic(p, "", 0), SL_OK);
    assert_int_equal(sl_read_file(p, 0, &data, &len), SL_OK);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
}

static void test_mkdirs(void **state)
{
    (void)state;
    char p[1100];
    struct stat sb;
    path_of(p, sizeof p, "d1/d2/d3");
    assert_int_equal(sl_mkdirs(p), SL_OK);
    assert_int_equal(sl_mkdirs(p), SL_OK); /* exists: fine */
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    path_of(p, sizeof p, "e1//e2/./e3/");
    assert_int_equal(sl_mkdirs(p), SL_OK);
    path_of(p, sizeof p, "e1/e2/e3");
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sl_mkdirs("/"), SL_OK);
    assert_int_equal(sl_mkdirs(g_dir), SL_OK);
    /* a file in the way, as the last component or in the middle */
    path_of(p, sizeof p, "plain");
    assert_int_equal(sl_write_file_atomic(p, "x", 1), SL_OK);
    assert_int_equal(sl_mkdirs(p), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "plain: cannot create folder: not a folder"));
    path_of(p, sizeof p, "plain/sub/deeper");
    assert_int_equal(sl_mkdirs(p), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "plain: cannot create folder"));
    assert_int_equal(sl_mkdirs(""), SL_EARG);
}

int main(void)
{
    if (sl_test_tmp_dir(g_dir, sizeof g_dir, "fileio") != 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_commit_read),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_killed_writer_self),
        cmocka_unit_test(test_killed_writer_parent),
        cmocka_unit_test(test_killed_at_random_moments),
        cmocka_unit_test(test_stray_temp_files),
        cmocka_unit_test(test_errors_name_the_path),
        cmocka_unit_test(test_read_limit),
        cmocka_unit_test(test_mkdirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
