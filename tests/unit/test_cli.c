/*
 * Tests for what tallyctl's subcommands share (daemon/cli/cli.c): the time
 * format of `tallyctl resend --since`.
 */
#include <stdint.h>

#include <criterion/criterion.h>

#include "cli/cli.h"

static int64_t ms(const char *s)
{
	int64_t v = -7;

	cr_assert_eq(cli_parse_time_ms(s, &v), 0, "'%s' refused", s);
	return v;
}

Test(cli, since_accepts_utc_offsets_and_epoch_seconds)
{
	cr_assert_eq(ms("1970-01-01T00:00:00Z"), 0);
	cr_assert_eq(ms("2026-11-28T20:15:30Z"), 1795896930000LL);
	/* Astana time is UTC+05:00: the same instant. */
	cr_assert_eq(ms("2026-11-29T01:15:30+05:00"), 1795896930000LL);
	cr_assert_eq(ms("2026-11-28T15:15:30-05:00"), 1795896930000LL);
	cr_assert_eq(ms("@1795896930"), 1795896930000LL);
	cr_assert_eq(ms("@0"), 0);
}

Test(cli, since_refuses_what_is_not_a_time)
{
	static const char *const bad[] = {
	    "",
	    "yesterday",
	    "2026-11-28",
	    "2026-11-28T20:15:30",  /* no zone: whose clock? */
	    "2026-11-28 20:15:30Z", /* a space, not T */
	    "2026-13-01T00:00:00Z", /* month 13 */
	    "2026-11-28T24:00:00Z", /* hour 24 */
	    "2026-11-28T20:15:30+5:00",
	    "2026-11-28T20:15:30+05:00x",
	    "2026-11-28T20:15:30Zjunk",
	    "@",
	    "@-5",
	    "@12x",
	    "1969-12-31T23:59:59Z", /* before 1970 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = -7;
		cr_assert_eq(cli_parse_time_ms(bad[i], &v), -1, "'%s' accepted as %lld", bad[i],
		             (long long)v);
		cr_assert_eq(v, -7, "'%s' wrote a value", bad[i]);
	}
}
