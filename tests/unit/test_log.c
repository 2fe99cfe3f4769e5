/*
 * Tests for log.c: one "<N>"-prefixed line per message on stderr, level
 * filtering, and level names.
 */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "tally/log.h"

Test(log, one_prefixed_line_per_message_and_filtering, .init = cr_redirect_stderr)
{
	tally_log_set_level(TALLY_LOG_INFO);
	log_err("store: %s", "disk full");
	log_info("region=\"%s\" seq=%d", "KZ-71", 42);
	log_debug("dropped at info");
	log_warning("peer said \"a\nb\"");
	fflush(stderr);
	cr_assert_stderr_eq_str("<3>store: disk full\n"
	                        "<6>region=\"KZ-71\" seq=42\n"
	                        "<4>peer said \"a b\"\n");
}

Test(log, debug_level_lets_everything_through, .init = cr_redirect_stderr)
{
	tally_log_set_level(TALLY_LOG_DEBUG);
	cr_assert_eq(tally_log_get_level(), TALLY_LOG_DEBUG);
	log_debug("x=%d", 1);
	log_notice("n");
	fflush(stderr);
	cr_assert_stderr_eq_str("<7>x=1\n<5>n\n");
}

Test(log, level_names)
{
	enum tally_log_level l = TALLY_LOG_INFO;

	cr_assert_eq(tally_log_level_parse("err", &l), 0);
	cr_assert_eq(l, TALLY_LOG_ERR);
	cr_assert_eq(tally_log_level_parse("warning", &l), 0);
	cr_assert_eq(l, TALLY_LOG_WARNING);
	cr_assert_eq(tally_log_level_parse("notice", &l), 0);
	cr_assert_eq(l, TALLY_LOG_NOTICE);
	cr_assert_eq(tally_log_level_parse("info", &l), 0);
	cr_assert_eq(l, TALLY_LOG_INFO);
	cr_assert_eq(tally_log_level_parse("debug", &l), 0);
	cr_assert_eq(l, TALLY_LOG_DEBUG);
	cr_assert_eq(tally_log_level_parse("verbose", &l), -EINVAL);
	cr_assert_eq(tally_log_level_parse("INFO", &l), -EINVAL);
	cr_assert_eq(l, TALLY_LOG_DEBUG);
}

Test(log, fatal_exits_1, .exit_code = 1, .init = cr_redirect_stderr)
{
	tally_fatal("config: %s", "missing [tls] ca");
}

Test(log, limit_passes_a_burst_a_second_and_reports_what_it_held)
{
	struct tally_log_limit l = {0};
	uint64_t held = 99;
	for (int i = 0; i < 3; i++) {
		cr_assert(tally_log_limit_pass(&l, 1000, 3, &held), "line %d", i);
		cr_assert_eq(held, 0);
	}
	cr_assert_not(tally_log_limit_pass(&l, 1000, 3, &held));
	cr_assert_not(tally_log_limit_pass(&l, 1500, 3, &held));
	cr_assert_not(tally_log_limit_pass(&l, 1999, 3, &held));
	cr_assert_eq(held, 0);
	/* A new second: the first line passes and carries the three held. */
	cr_assert(tally_log_limit_pass(&l, 2000, 3, &held));
	cr_assert_eq(held, 3);
	cr_assert(tally_log_limit_pass(&l, 2001, 3, &held));
	cr_assert_eq(held, 0);
	/* A clock that went back starts a new window rather than holding all. */
	cr_assert(tally_log_limit_pass(&l, 10, 3, &held));
	cr_assert(tally_log_limit_pass(&l, 11, 3, &held));
	cr_assert(tally_log_limit_pass(&l, 12, 3, &held));
	cr_assert_not(tally_log_limit_pass(&l, 13, 3, &held));
	cr_assert(tally_log_limit_pass(&l, 5000, 3, &held));
	cr_assert_eq(held, 1);
}
