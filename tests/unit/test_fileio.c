/* Atomic writes: a reader sees the old file or the new one, and a writer killed at any moment
 * leaves the old file intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sigloop/fileio.h"

static char g_dir[1024];

static void path_of(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", g_dir, name);
}

static void assert_content(const char *path, const char *want)
{
    char *data;
    size_t len;
    assert_int_equal(sl_read_file(path, 1 << 26, &data, &len), SL_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    free(data);
}

static void test_write_commit_read(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "a.txt");
    assert_int_equal(sl_write_file_atomic(p, "first\n", 6), SL_OK);
    assert_content(p, "first\n");
    sl_afile *f;
    assert_int_equal(sl_afile_open(&f, p), SL_OK);
    fprintf(sl_afile_stream(f), "second %d\n", 2);
    assert_content(p, "first\n"); /* not visible before the commit */
    assert_int_equal(sl_afile_commit(f), SL_OK);
    assert_content(p, "second 2\n");
    /* abort leaves the old content and no temporary file */
    assert_int_equal(sl_afile_open(&f, p), SL_OK);
    fputs("third\n", sl_afile_stream(f));
    sl_afile_abort(f);
    assert_content(p, "second 2\n");
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    assert_int_not_equal(access(tmp, F_OK), 0);
    sl_afile_abort(NULL);
}

/* The child writes far more than the old file holds, then is killed before committing. */
static void killed_writer(int kill_from_parent)
{
    char p[1100];
    path_of(p, sizeof p, kill_from_parent ? "k2.txt" : "k1.txt");
    const char *old = "the old content\n";
    assert_int_equal(sl_write_file_atomic(p, old, strlen(old)), SL_OK);
    int sync_pipe[2];
    assert_int_equal(pipe(sync_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sl_afile *f;
        if (sl_afile_open(&f, p) != SL_OK) _exit(3);
        FILE *s = sl_afile_stream(f);
        for (int i = 0; i < 100000; i++) fprintf(s, "new line %d of a much longer file\n", i);
        fflush(s);
        if (write(sync_pipe[1], "x", 1) != 1) _exit(4);
        if (!kill_from_parent) raise(SIGKILL);
        for (;;) fputs("still writing, never committing\n", s); /* until the parent kills us */
    }
    char c;
    assert_int_equal(read(sync_pipe[0], &c, 1), 1);
    if (kill_from_parent) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    close(sync_pipe[0]);
    close(sync_pipe[1]);
    assert_content(p, old);
    /* the next writer commits normally */
    assert_int_equal(sl_write_file_atomic(p, "after\n", 6), SL_OK);
    assert_content(p, "after\n");
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

static void test_errors_name_the_path(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "no/such/folder/x.txt");
    assert_int_equal(sl_write_file_atomic(p, "x", 1), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "no/such/folder/x.txt: cannot write: No such file or directory"));
    char *data;
    size_t len;
    assert_int_equal(sl_read_file(p, 10, &data, &len), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "x.txt: cannot open"));
    /* a file over the limit is refused */
    path_of(p, sizeof p, "big.txt");
    char buf[10000];
    memset(buf, 'a', sizeof buf);
    assert_int_equal(sl_write_file_atomic(p, buf, sizeof buf), SL_OK);
    assert_int_equal(sl_read_file(p, 9999, &data, &len), SL_EFORMAT);
    assert_non_null(strstr(sl_last_error(), "big.txt: larger than 9999 bytes"));
    assert_int_equal(sl_read_file(p, 10000, &data, &len), SL_OK);
    assert_int_equal(len, 10000);
    free(data);
}

static void test_mkdirs(void **state)
{
    (void)state;
    char p[1100];
    path_of(p, sizeof p, "d1/d2/d3");
    assert_int_equal(sl_mkdirs(p), SL_OK);
    assert_int_equal(sl_mkdirs(p), SL_OK); /* exists: fine */
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    path_of(p, sizeof p, "a.txt/sub"); /* a file in the way */
    assert_int_equal(sl_mkdirs(p), SL_EIO);
    assert_non_null(strstr(sl_last_error(), "a.txt"));
}

int main(void)
{
    const char *t = getenv("SIGLOOP_TEST_TMP");
    snprintf(g_dir, sizeof g_dir, "%s/fileio.%d", t ? t : "/tmp", (int)getpid());
    if (sl_mkdirs(g_dir) != SL_OK) {
        fprintf(stderr, "%s\n", sl_last_error());
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_commit_read),
        cmocka_unit_test(test_killed_writer_self),
        cmocka_unit_test(test_killed_writer_parent),
        cmocka_unit_test(test_errors_name_the_path),
        cmocka_unit_test(test_mkdirs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
