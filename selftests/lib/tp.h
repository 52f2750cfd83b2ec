/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * test_progs framework: constructor-registered tests with named subtests, one
 * TAP line per subtest, and ASSERT_* macros that report file:line with the
 * expected and actual value and return whether they held.
 */
#ifndef SVC_TP_H
#define SVC_TP_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <errno.h>

/* One registered test: a function that runs its subtests. */
struct tp_test {
	const char *name;
	void (*fn)(void);
	struct tp_test *next;
};

/* tp_register - add @t to the list main() runs (called from constructors). */
void tp_register(struct tp_test *t);

/*
 * TEST(name) { ... } defines void test_name(void) and registers it before
 * main() runs, so adding a file under prog_tests/ is all it takes.
 */
#define TEST(name)                                                           \
	void test_##name(void);                                              \
	static struct tp_test tp_test_##name = { #name, test_##name, NULL }; \
	__attribute__((constructor)) static void tp_register_##name(void)    \
	{                                                                    \
		tp_register(&tp_test_##name);                                \
	}                                                                    \
	void test_##name(void)

/*
 * tp_subtest - close the previous subtest (printing its TAP line) and open
 * @name. Returns false when the -t filter excludes it: the caller skips it.
 */
bool tp_subtest(const char *name);
/* tp_skip - mark the current subtest (or test) skipped, with @reason. */
void tp_skip(const char *reason);
/* tp_failed - true if the current subtest (or test, outside subtests) has failed. */
bool tp_failed(void);
/* tp_fail - record a failed check at @file:@line and print the message as a TAP comment. */
void tp_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* tp_diag - print a TAP comment line ("# ..."). */
void tp_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Options from the command line. */
extern bool tp_verbose;		/* -v: print every fixture's packets */
extern const char *tp_pcap_dir; /* --pcap DIR: dump fixture packets there, or NULL */
/* tp_cur_name - "test" or "test/subtest" being run (for pcap file names). */
const char *tp_cur_name(void);

/* tp_main - parse options, run the registered tests, return the exit status. */
int tp_main(int argc, char **argv);

#define ASSERT_TRUE(cond, name)                                                              \
	({                                                                                   \
		bool ___ok = !!(cond);                                                       \
		if (!___ok)                                                                  \
			tp_fail(__FILE__, __LINE__, "%s: expected true: %s", (name), #cond); \
		___ok;                                                                       \
	})

#define ASSERT_FALSE(cond, name)                                                              \
	({                                                                                    \
		bool ___ok = !(cond);                                                         \
		if (!___ok)                                                                   \
			tp_fail(__FILE__, __LINE__, "%s: expected false: %s", (name), #cond); \
		___ok;                                                                        \
	})

#define TP_ASSERT_CMP(actual, expected, op, name)                                              \
	({                                                                                     \
		long long ___a = (long long)(actual), ___e = (long long)(expected);            \
		bool ___ok = ___a op ___e;                                                     \
		if (!___ok)                                                                    \
			tp_fail(__FILE__, __LINE__,                                            \
				"%s: expected %s %s %lld (0x%llx), got %lld (0x%llx)", (name), \
				#actual, #op, ___e, (unsigned long long)___e, ___a,            \
				(unsigned long long)___a);                                     \
		___ok;                                                                         \
	})

#define ASSERT_EQ(actual, expected, name) TP_ASSERT_CMP(actual, expected, ==, name)
#define ASSERT_NEQ(actual, expected, name) TP_ASSERT_CMP(actual, expected, !=, name)
#define ASSERT_GE(actual, expected, name) TP_ASSERT_CMP(actual, expected, >=, name)
#define ASSERT_GT(actual, expected, name) TP_ASSERT_CMP(actual, expected, >, name)
#define ASSERT_LE(actual, expected, name) TP_ASSERT_CMP(actual, expected, <=, name)
#define ASSERT_LT(actual, expected, name) TP_ASSERT_CMP(actual, expected, <, name)

/* ASSERT_OK - @err is 0; a negative errno is printed with its name. */
#define ASSERT_OK(err, name)                                                                       \
	({                                                                                         \
		long long ___e = (long long)(err);                                                 \
		bool ___ok = ___e == 0;                                                            \
		if (!___ok)                                                                        \
			tp_fail(__FILE__, __LINE__, "%s: expected 0, got %lld (%s)", (name), ___e, \
				___e < 0 ? strerror((int)-___e) : "positive");                     \
		___ok;                                                                             \
	})

#define ASSERT_OK_PTR(ptr, name)                                                                   \
	({                                                                                         \
		const void *___p = (ptr);                                                          \
		bool ___ok = ___p != NULL;                                                         \
		if (!___ok)                                                                        \
			tp_fail(__FILE__, __LINE__, "%s: got NULL (%s)", (name), strerror(errno)); \
		___ok;                                                                             \
	})

#define ASSERT_STREQ(actual, expected, name)                                                   \
	({                                                                                     \
		const char *___a = (actual), *___e = (expected);                               \
		bool ___ok = ___a && ___e && strcmp(___a, ___e) == 0;                          \
		if (!___ok)                                                                    \
			tp_fail(__FILE__, __LINE__, "%s: expected \"%s\", got \"%s\"", (name), \
				___e ? ___e : "(null)", ___a ? ___a : "(null)");               \
		___ok;                                                                         \
	})

/* tp_memeq_report - compare, and on difference print offset and both hex dumps. */
bool tp_memeq_report(const char *file, int line, const void *actual, size_t alen,
		     const void *expected, size_t elen, const char *name);

/* ASSERT_MEMEQ - same length and bytes; on failure prints the first differing offset. */
#define ASSERT_MEMEQ(actual, alen, expected, elen, name) \
	tp_memeq_report(__FILE__, __LINE__, (actual), (alen), (expected), (elen), (name))

#endif /* SVC_TP_H */
