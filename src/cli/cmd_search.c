/* sigloop search CONFIG: step 7 many times, within a time limit and the budget (the engine is
 * src/search/search.c); under mpirun, one process per rank sharing the trials. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SIGLOOP_MPI
#include <mpi.h>
#endif

#include "cli/cli.h"
#include "sigloop/fileio.h"
#include "sigloop/search.h"

static const char help[] =
    "usage: sigloop search CONFIG [options]\n"
    "\n"
    "Searches the settings the config's search: section lists (choices: a list of values per\n"
    "setting, e.g. model.kernel: [5, 7, 9]) with its strategy: grid, random or halving\n"
    "(successive halving: many short trainings, the best 1/eta trained eta times longer, up to\n"
    "train.epochs). Every candidate is costed on the budget's target first; one over budget is\n"
    "recorded and never trained. Trials select on the validation split only (the config has none:\n"
    "search.val_fraction of the training groups is held out for them). Each trial has its folder\n"
    "DIR/cNNN-eE and its row in runs/index.db; the same command again continues a killed search\n"
    "without redoing a finished trial. At the end the best candidate is written out as\n"
    "DIR/best.yaml, trained again on the config's own split in DIR/final and scored on the test\n"
    "split once; DIR/search.html holds the leaderboard and the Pareto plots (validation accuracy\n"
    "against MACs, RAM and latency).\n"
    "\n"
    "Under mpirun (mpirun -np N sigloop search ...) each rank trains its share of the trials in the\n"
    "shared folder, and rank 0 writes the index and the pages.\n"
    "\n"
    "options:\n"
    "  --time D            the time limit, e.g. 10m, 1h, 90s (search.time)\n"
    "  --trials N          candidates to train at most (search.trials)\n"
    "  -o DIR              the search's folder (default runs/search-NAME)\n"
    "  --set KEY=VALUE     override a config field, e.g. --set search.strategy=random\n"
    "  -j, --threads N     threads per process (default: all cores, shared among the ranks)\n"
    "  --no-robustness     leave the noise, gain and shift curves out of the final report\n"
    "  -q, --quiet         the summary only\n"
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 success, 1 failure (or no trial finished), 2 usage error.\n";

typedef struct {
    int rank, size;
} mpi_ctx;

#ifdef SIGLOOP_MPI
static sl_status mpi_barrier(void *ctx)
{
    (void)ctx;
    return MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS ? SL_OK : sl_fail(SL_EIO, "MPI_Barrier failed");
}

static sl_status mpi_max_int(void *ctx, int *v)
{
    (void)ctx;
    int in = *v;
    return MPI_Allreduce(&in, v, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) == MPI_SUCCESS
               ? SL_OK
               : sl_fail(SL_EIO, "MPI_Allreduce failed");
}
#endif

/* 1 when this process was started by mpirun (Open MPI or PMIx sets these). */
static int under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static int run_search(int argc, char **argv, int rank, int size, const sl_search_comm *comm)
{
    const char *time_s = NULL, *trials_s = NULL;
    int no_robust = 0;
    const cli_option own[] = {{"--time", NULL, &time_s}, {"--trials", NULL, &trials_s},
                              {"--no-robustness", &no_robust, NULL}};
    cli_common c;
    int done;
    int rc = cli_parse_with(argc, argv, &c, help, &done, own, 3);
    if (rc != CLI_OK || done) return rc;
    char set_time[96], set_trials[96];
    if (time_s || trials_s) {
        if (c.n_sets + 2 > CLI_MAX_SETS) {
            cli_error("too many --set options");
            return CLI_USAGE;
        }
        if (time_s) {
            snprintf(set_time, sizeof set_time, "search.time=%s", time_s);
            c.sets[c.n_sets++] = set_time;
        }
        if (trials_s) {
            snprintf(set_trials, sizeof set_trials, "search.trials=%s", trials_s);
            c.sets[c.n_sets++] = set_trials;
        }
    }
    const char *out = c.out_dir;
    c.out_dir = NULL;
    sl_config cfg;
    char data_dir[SL_PATH_MAX], dir[SL_PATH_MAX + 16], source[SL_NAME_MAX + 16];
    if (cli_load_config(&c, &cfg, data_dir, sizeof data_dir) != CLI_OK) return CLI_FAIL;
    if (out) snprintf(dir, sizeof dir, "%s", out);
    else snprintf(dir, sizeof dir, "runs/search-%s", cfg.name);
    snprintf(source, sizeof source, "search %s", cfg.name);
    char command[2048] = "sigloop";
    size_t off = strlen(command);
    for (int i = 0; i < argc && off < sizeof command; i++)
        off += (size_t)snprintf(command + off, sizeof command - off, " %s", argv[i]);
    int threads = c.threads;
    if (threads <= 0 && size > 1) { /* the cores shared among the ranks on this machine */
        const char *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        long cores = sysconf(_SC_NPROCESSORS_ONLN), per = local ? atol(local) : size;
        threads = (int)(cores / (per > 0 ? per : 1));
        if (threads < 1) threads = 1;
    }
    sl_search_opts o = {.dir = dir, .data_dir = data_dir, .index = "runs/index.db", .source = source,
                        .command = command, .threads = threads, .progress = !c.quiet && size == 1,
                        .log = c.quiet ? NULL : stdout, .robustness = !no_robust, .comm = comm};
    sl_search_result r;
    sl_status s = rank == 0 ? sl_mkdirs("runs") : SL_OK;
    if (s == SL_OK) s = sl_search_run(&cfg, &o, &r);
    if (s != SL_OK) {
        cli_error("%s", sl_last_error());
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    if (rank != 0) {
        sl_config_free(&cfg);
        return CLI_OK;
    }
    printf("\nsearch: %zu candidates costed (%zu over budget), %zu trials (%zu trained now, %zu found finished) in "
           "%.0f s%s\n", r.candidates, r.over_budget, r.finished, r.trained, r.reused, r.seconds,
           r.time_up ? "; the time limit ended it" : "");
    if (!r.have_best) {
        cli_error("%s: no trial finished (a longer --time?)", cfg.path);
        sl_config_free(&cfg);
        return CLI_FAIL;
    }
    printf("best: c%03zu, validation %.1f %% after %zu epochs", r.best, 100 * r.best_val, r.best_epochs);
    if (r.baseline_val >= 0) printf(" (the config as written: %.1f %%)", 100 * r.baseline_val);
    printf("\n  %s%s\n", r.best_changes[0] ? "changes: " : "", r.best_changes[0] ? r.best_changes : "the config as written");
    if (r.test_acc >= 0)
        printf("  test, once: %.1f %% (95 %% interval %.1f-%.1f) on %zu examples: %s/final/report.html\n",
               100 * r.test_acc, 100 * r.test_lo, 100 * r.test_hi, r.n_test, dir);
    printf("  budget on %s: RAM %.1f KiB, flash %.1f KiB, latency %.3g ms: %s\n", cfg.budget.target,
           (double)r.ram_bytes / 1024, (double)r.flash_bytes / 1024, 1e3 * r.latency_s,
           r.budget_pass ? "PASS" : "FAIL");
    printf("best config: %s/best.yaml (sigloop run %s/best.yaml)\nleaderboard and Pareto plots: %s/search.html\n", dir,
           dir, dir);
    sl_config_free(&cfg);
    return CLI_OK;
}

int cmd_search(int argc, char **argv)
{
    if (!under_mpirun()) return run_search(argc, argv, 0, 1, NULL);
#ifdef SIGLOOP_MPI
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        cli_error("MPI_Init failed");
        return CLI_FAIL;
    }
    mpi_ctx ctx;
    MPI_Comm_rank(MPI_COMM_WORLD, &ctx.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ctx.size);
    sl_search_comm comm = {.ctx = &ctx, .rank = ctx.rank, .size = ctx.size, .barrier = mpi_barrier,
                           .max_int = mpi_max_int};
    int rc = run_search(argc, argv, ctx.rank, ctx.size, &comm);
    MPI_Finalize();
    return rc;
#else
    cli_error("started by mpirun, but this sigloop was built without MPI (install libopenmpi-dev and build again)");
    return CLI_FAIL;
#endif
}
