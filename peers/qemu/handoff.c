/*
 * pinbench-handoff: QEMU's own aio_co_schedule handoff, the C side of
 * pinbench's BenchmarkHandoff/via=aio, printed in Go's benchmark format.
 *
 * It is built inside a QEMU source tree (scripts/peer-qemu.sh copies it to
 * tests/unit/pinbench-handoff.c and links it like test-aio-multithread,
 * against QEMU's util code and tests/unit/iothread.c); nothing of QEMU is
 * copied into pinbench.
 *
 *   pinbench-handoff [-c cpuA,cpuB] [-p place] [-w waits] [-t seconds] [-n hops] [-r rounds]
 *
 * Two test iothreads (iothread_new), each pinned to one CPU of the pair by
 * a bottom half that runs on it (-c; without it they stay unpinned), one
 * coroutine homed on each. Coroutine 0 aio_co_schedule()s coroutine 1 on
 * iothread 1 and yields; coroutine 1, entered there, schedules coroutine 0
 * back on iothread 0 and yields; and so on. One op is one one-way handoff,
 * from the aio_co_schedule to the scheduled coroutine running on the other
 * iothread; the clock runs from the first arrival to the last. Also
 * cpu-ns/op: the CPU time both iothreads burned per hop meanwhile.
 *
 * -w lists the iothreads' poll windows (aio_context_set_poll_params), as
 * pinbench's wait modes: poll (1 s: the window grows to cover every gap,
 * so the iothreads busy-poll), adaptive (32768 ns, the default of QEMU's
 * -object iothread) and block (0, the default of aio_context_new: sleep
 * in ppoll at once). Default all three, in that order, for -r rounds
 * (default 1). Each measurement first times 1000 hops, then makes as many
 * as take about -t seconds (default 0.5), at least 1000 and at most -n
 * (default 2000000), as Go's benchmarks size b.N. -p is the place= key
 * printed (default unpinned, or "pair" with -c); pinned runs also carry
 * pin=cpu, as pinbench's names do.
 */
#include "qemu/osdep.h"
#include <sched.h>
#include "block/aio.h"
#include "qapi/error.h"
#include "qemu/coroutine.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "iothread.h"

static const struct {
    const char *name;
    int64_t poll_max_ns;
} waits[] = {
    { "poll", 1000000000 },
    { "adaptive", 32768 },
    { "block", 0 },
};

/* The pilot run that sizes each measurement. */
enum { pilot_hops = 1000 };

static IOThread *threads[2];
static AioContext *ctx[2];
static Coroutine *cos[2];

/*
 * The coroutines run strictly in turn (each runs only after the other
 * scheduled it and yielded), and every turn passes through
 * aio_co_schedule's atomic list insert and the schedule BH's atomic move,
 * both full barriers: plain variables suffice for the state they pass.
 */
static long hops;       /* one-way handoffs to time */
static long arrived;    /* handoffs arrived so far */
static bool quit;       /* set by the last arrival */
static int64_t t_start, t_end;
static QemuEvent done;  /* set by the coroutine that finishes last */
static bool all_done;   /* stored after done is set: see wait_set */

/*
 * wait_set waits until *flag, which the setter stores (release) after
 * qemu_event_set(ev) returns, its last touch of the event. QEMU 7.2's
 * qemu_event_wait returns on any futex wake-up without looking at the event
 * again, and a setter's wake-up can land after its waiter saw the event set
 * and went on: here it lands on the next event at the same address (a
 * stack frame's, or the static done's), which then "returns" unset. The
 * waiter freed the frame early, and the late qemu_event_set wrote into a
 * dead frame ("stack smashing detected", or an assertion that the event
 * is initialized). Waiting for the flag in a loop makes a stray wake-up
 * only a spurious one.
 */
static void wait_set(QemuEvent *ev, bool *flag)
{
    while (!qatomic_load_acquire(flag)) {
        qemu_event_wait(ev);
        if (!qatomic_load_acquire(flag)) {
            /* Set, and the setter is between its set and its store (or
             * a stray wake-up): let it run rather than spin on its CPU. */
            sched_yield();
        }
    }
}

static void coroutine_fn side_entry(void *opaque)
{
    int me = (intptr_t)opaque;
    bool started = me == 1; /* side 0's first entry is the start, not an arrival */

    for (;;) {
        if (quit) {
            qemu_event_set(&done);
            qatomic_store_release(&all_done, true);
            return;
        }
        if (started) {
            arrived++;
            if (arrived == 1) {
                t_start = get_clock();
            } else if (arrived == hops + 1) {
                t_end = get_clock();
                quit = true;
                /* Let the other side, suspended in its yield, finish. */
                aio_co_schedule(ctx[1 - me], cos[1 - me]);
                return;
            }
        }
        started = true;
        aio_co_schedule(ctx[1 - me], cos[1 - me]);
        qemu_coroutine_yield();
    }
}

/* Runs fn(arg) on iothread i and waits for it (test-aio-multithread's ctx_run). */
typedef struct {
    void (*fn)(int i, void *arg);
    int i;
    void *arg;
    QemuEvent ev;
    bool finished; /* stored after ev is set: see wait_set */
} RunData;

static void run_bh(void *opaque)
{
    RunData *d = opaque;

    d->fn(d->i, d->arg);
    qemu_event_set(&d->ev);
    qatomic_store_release(&d->finished, true); /* the last touch of d */
}

static void run_on(int i, void (*fn)(int i, void *arg), void *arg)
{
    RunData d = { .fn = fn, .i = i, .arg = arg };

    qemu_event_init(&d.ev, false);
    aio_bh_schedule_oneshot(ctx[i], run_bh, &d);
    wait_set(&d.ev, &d.finished);
    qemu_event_destroy(&d.ev);
}

static void pin_self(int i, void *arg)
{
    int cpu = ((int *)arg)[i];
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        fprintf(stderr, "pinbench-handoff: iothread %d: pinning to CPU %d: %s\n",
                i, cpu, strerror(errno));
        exit(1);
    }
}

/* Reads iothread i's CPU time (ns) into ((int64_t *)arg)[i]. */
static void read_cpu(int i, void *arg)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    ((int64_t *)arg)[i] = ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void set_poll(int i, void *arg)
{
    aio_context_set_poll_params(ctx[i], *(int64_t *)arg, 0, 0, &error_abort);
}

/*
 * measure makes n hops and returns ns per hop; *cpu_ns gets the CPU time
 * the two iothreads burned per hop, from just before the first schedule
 * to just after the last arrival (as pinbench's cpu-ns/op).
 */
static double measure(const int *cpus, int64_t poll_max_ns, long n, double *cpu_ns)
{
    int64_t cpu0[2], cpu1[2];
    int i;

    hops = n;
    arrived = 0;
    quit = false;
    all_done = false;
    qemu_event_init(&done, false);
    for (i = 0; i < 2; i++) {
        threads[i] = iothread_new();
        ctx[i] = iothread_get_aio_context(threads[i]);
    }
    for (i = 0; i < 2; i++) {
        if (cpus) {
            run_on(i, pin_self, (void *)cpus);
        }
        run_on(i, set_poll, &poll_max_ns);
        cos[i] = qemu_coroutine_create(side_entry, (void *)(intptr_t)i);
    }
    for (i = 0; i < 2; i++) {
        run_on(i, read_cpu, cpu0);
    }
    aio_co_schedule(ctx[0], cos[0]);
    wait_set(&done, &all_done);
    for (i = 0; i < 2; i++) {
        run_on(i, read_cpu, cpu1);
        iothread_join(threads[i]);
    }
    *cpu_ns = (double)(cpu1[0] - cpu0[0] + cpu1[1] - cpu0[1]) / hops;
    qemu_event_destroy(&done);
    return (double)(t_end - t_start) / hops;
}

static void usage(void)
{
    fprintf(stderr, "usage: pinbench-handoff [-c cpuA,cpuB] [-p place] [-w poll,adaptive,block] [-t seconds] [-n hops] [-r rounds]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int cpus[2], opt, r, rounds = 1;
    bool pinned = false;
    bool want[G_N_ELEMENTS(waits)] = { true, true, true };
    const char *place = NULL;
    long n = 2000000;
    double target = 0.5;
    size_t w;

    while ((opt = getopt(argc, argv, "c:p:w:t:n:r:")) != -1) {
        switch (opt) {
        case 'c':
            if (sscanf(optarg, "%d,%d", &cpus[0], &cpus[1]) != 2) {
                usage();
            }
            pinned = true;
            break;
        case 'p':
            place = optarg;
            break;
        case 'w': {
            g_auto(GStrv) names = g_strsplit(optarg, ",", -1);
            for (w = 0; w < G_N_ELEMENTS(waits); w++) {
                want[w] = g_strv_contains((const gchar * const *)names, waits[w].name);
            }
            break;
        }
        case 't':
            target = atof(optarg);
            break;
        case 'n':
            n = atol(optarg);
            break;
        case 'r':
            rounds = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (n < pilot_hops || rounds < 1 || target <= 0) {
        usage();
    }
    if (!place) {
        place = pinned ? "pair" : "unpinned";
    }

    init_clocks(NULL);
    for (r = 0; r < rounds; r++) {
        for (w = 0; w < G_N_ELEMENTS(waits); w++) {
            const int *c = pinned ? cpus : NULL;
            double ns, cpu_ns;
            long hw;

            if (!want[w]) {
                continue;
            }
            ns = measure(c, waits[w].poll_max_ns, pilot_hops, &cpu_ns);
            hw = MIN(n, MAX(pilot_hops, (long)(target * 1e9 / ns)));
            ns = measure(c, waits[w].poll_max_ns, hw, &cpu_ns);
            printf("BenchmarkHandoff/impl=qemu/wait=%s/%splace=%s \t%10ld\t%12.2f ns/op\t%12.2f cpu-ns/op\n",
                   waits[w].name, pinned ? "pin=cpu/" : "", place, hw, ns, cpu_ns);
            fflush(stdout);
        }
    }
    return 0;
}
