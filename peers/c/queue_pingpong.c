// queue_pingpong: the C reference for pinbench's floor and via=queue
// handoff, on the same two CPUs, printed in Go's benchmark format so that
// benchstat reads it next to the Go suite's results.
//
//   cc -O2 -pthread -o queue_pingpong queue_pingpong.c
//   ./queue_pingpong [-c cpuA,cpuB] [-r rounds] [-n transfers]
//
// The CPUs default to the first two of the allowed set, rounds to 6 and
// transfers (one-way, per measurement) to 2000000.
//
// floor: one cache line bounced between two pinned threads; one op is one
// one-way transfer (BenchmarkFloor). queue: a token bounced through two
// padded Treiber stacks, QEMU's aio_co_schedule queue without the event
// loop or a coroutine switch; one op is one one-way handoff: claim the token
// (mark=on: compare-and-swap of its "scheduled" word, as QEMU does), push it
// on the other side's stack; the other side spins until the stack is not
// empty, takes it whole with an exchange, reverses it and clears the claim
// (BenchmarkHandoff/via=queue). spin=pause waits with the x86 PAUSE hint,
// as pinbench does; spin=bare with a bare load loop. Every atomic is
// sequentially consistent, as Go's are. Rounds interleave the variants.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define PAUSE() __asm__ volatile("yield")
#else
#define PAUSE() ((void)0)
#endif

#define SC __ATOMIC_SEQ_CST

static long transfers = 2000000;
static int cpus[2] = {0, 1};
static int use_pause, use_mark;

// ready makes both sides of a measurement start together, so that thread
// start-up is not timed.
static int ready;

static void meet(void) {
	__atomic_add_fetch(&ready, 1, SC);
	while (__atomic_load_n(&ready, SC) % 2 != 0)
		;
}

static inline void relax(void) {
	if (use_pause)
		PAUSE();
}

static double now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void pin(int cpu) {
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	int err = pthread_setaffinity_np(pthread_self(), sizeof s, &s);
	if (err) {
		fprintf(stderr, "queue_pingpong: cannot pin to CPU %d (error %d): not in the allowed set?\n", cpu, err);
		exit(2);
	}
}

// Padded to 128 bytes, as pinbench pads (adjacent-line prefetch).
struct line {
	_Alignas(128) long seq;
	char pad[120];
};
struct token {
	_Alignas(128) struct token *next;
	const char *scheduled;
	char pad[112];
};
struct stack {
	_Alignas(128) struct token *top;
	char pad[120];
};

static struct line ping;
static struct stack stacks[2];
static struct token tokens[2];

static void *floor_responder(void *arg) {
	(void)arg;
	pin(cpus[1]);
	meet();
	for (long i = 1; i < transfers; i += 2) {
		while (__atomic_load_n(&ping.seq, SC) != i)
			relax();
		__atomic_store_n(&ping.seq, i + 1, SC);
	}
	return NULL;
}

static double run_floor(void) {
	pthread_t t;
	ping.seq = 0;
	pthread_create(&t, NULL, floor_responder, NULL);
	pin(cpus[0]);
	meet();
	double t0 = now_ns();
	for (long i = 1; i < transfers; i += 2) {
		__atomic_store_n(&ping.seq, i, SC);
		while (__atomic_load_n(&ping.seq, SC) != i + 1)
			relax();
	}
	double el = now_ns() - t0;
	pthread_join(t, NULL);
	return el / transfers;
}

static void send_to(int to) {
	struct token *tok = &tokens[to];
	if (use_mark) {
		const char *none = NULL;
		if (!__atomic_compare_exchange_n(&tok->scheduled, &none, "send_to", 0, SC, SC)) {
			fprintf(stderr, "queue_pingpong: token %d already scheduled in '%s'\n", to, none);
			abort();
		}
	}
	struct token *old = __atomic_load_n(&stacks[to].top, SC);
	for (;;) {
		if (__atomic_load_n(&tok->next, SC) != old)
			__atomic_store_n(&tok->next, old, SC);
		if (__atomic_compare_exchange_n(&stacks[to].top, &old, tok, 0, SC, SC))
			return;
	}
}

static void receive(int me) {
	while (__atomic_load_n(&stacks[me].top, SC) == NULL)
		relax();
	struct token *top = __atomic_exchange_n(&stacks[me].top, NULL, SC);
	struct token *fifo = NULL;
	while (top) {
		struct token *next = __atomic_exchange_n(&top->next, fifo, SC);
		fifo = top;
		top = next;
	}
	while (fifo) {
		struct token *next = __atomic_load_n(&fifo->next, SC);
		if (next)
			__atomic_store_n(&fifo->next, NULL, SC);
		if (use_mark)
			__atomic_store_n(&fifo->scheduled, NULL, SC);
		fifo = next;
	}
}

// Side 0 sends the odd hops, side 1 the even ones.
static void *queue_side1(void *arg) {
	(void)arg;
	pin(cpus[1]);
	meet();
	for (long hop = 2; hop <= transfers; hop += 2) {
		receive(1);
		send_to(0);
	}
	return NULL;
}

static double run_queue(void) {
	pthread_t t;
	pthread_create(&t, NULL, queue_side1, NULL);
	pin(cpus[0]);
	meet();
	double t0 = now_ns();
	for (long hop = 1; hop <= transfers; hop += 2) {
		send_to(1);
		receive(0);
	}
	double el = now_ns() - t0;
	pthread_join(t, NULL);
	return el / transfers;
}

static void usage(void) {
	fprintf(stderr, "usage: queue_pingpong [-c cpuA,cpuB] [-r rounds] [-n transfers]\n");
	exit(2);
}

// first_two_allowed sets cpus to the first two CPUs this thread may run on.
static void first_two_allowed(void) {
	cpu_set_t s;
	if (sched_getaffinity(0, sizeof s, &s) != 0) {
		perror("queue_pingpong: sched_getaffinity");
		exit(2);
	}
	int n = 0;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &s))
			cpus[n++] = c;
	if (n < 2) {
		fprintf(stderr, "queue_pingpong: needs two allowed CPUs, has %d\n", n);
		exit(2);
	}
}

int main(int argc, char **argv) {
	int rounds = 6, opt, given = 0;
	char end;
	while ((opt = getopt(argc, argv, "c:r:n:")) != -1) {
		switch (opt) {
		case 'c':
			if (sscanf(optarg, "%d,%d%c", &cpus[0], &cpus[1], &end) != 2 || cpus[0] < 0 || cpus[1] < 0 || cpus[0] == cpus[1]) {
				fprintf(stderr, "queue_pingpong: -c wants two different CPUs as A,B, got %s\n", optarg);
				return 2;
			}
			given = 1;
			break;
		case 'r':
			if (sscanf(optarg, "%d%c", &rounds, &end) != 1 || rounds < 1) {
				fprintf(stderr, "queue_pingpong: -r wants a round count of at least 1, got %s\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (sscanf(optarg, "%ld%c", &transfers, &end) != 1 || transfers < 2) {
				fprintf(stderr, "queue_pingpong: -n wants at least 2 transfers, got %s\n", optarg);
				return 2;
			}
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (!given)
		first_two_allowed();
	transfers += transfers & 1; // whole round trips
	printf("cpus: %d,%d\n", cpus[0], cpus[1]);
	for (int r = 0; r < rounds; r++) {
		for (use_pause = 1; use_pause >= 0; use_pause--) {
			const char *spin = use_pause ? "pause" : "bare";
			printf("BenchmarkCFloor/spin=%s\t%ld\t%.2f ns/op\n", spin, transfers, run_floor());
			for (use_mark = 1; use_mark >= 0; use_mark--)
				printf("BenchmarkCQueue/mark=%s/spin=%s\t%ld\t%.2f ns/op\n",
				       use_mark ? "on" : "off", spin, transfers, run_queue());
			fflush(stdout);
		}
	}
	return 0;
}
