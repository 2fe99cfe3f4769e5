/*
 * Tests for what tallyctl's subcommands share (daemon/cli/cli.c): the time
 * format of `tallyctl resend --since`, the language names are printed in
 * (--lang or the locale) and contest ids in request paths.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

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

/* Sets the three locale variables (NULL unsets) and returns cli_lang(arg). */
static const char *lang_with(const char *arg, const char *lc_all, const char *lc_messages,
                             const char *lang_env)
{
	const char *names[] = {"LC_ALL", "LC_MESSAGES", "LANG"};
	const char *values[] = {lc_all, lc_messages, lang_env};
	const char *lang = "unset";

	for (size_t i = 0; i < 3; i++) {
		if (values[i] != NULL)
			setenv(names[i], values[i], 1);
		else
			unsetenv(names[i]);
	}
	cr_assert_eq(cli_lang(arg, &lang), 0, "--lang %s refused", arg ? arg : "(none)");
	return lang;
}

Test(cli, lang_comes_from_the_option_else_the_locale)
{
	const char *lang = "unset";

	/* The locale's language, in POSIX precedence. */
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "kk_KZ.UTF-8"), "kk");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "ru_RU.UTF-8"), "ru");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "ru"), "ru");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "kk_KZ@latin"), "kk");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "en_US.UTF-8"), "en");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "de_DE.UTF-8"), "en");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "C.UTF-8"), "en");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, "rus"), "en", "not a tag of ru");
	cr_assert_str_eq(lang_with(NULL, NULL, NULL, NULL), "en");
	cr_assert_str_eq(lang_with(NULL, NULL, "kk_KZ.UTF-8", "ru_RU.UTF-8"), "kk");
	cr_assert_str_eq(lang_with(NULL, "C", "kk_KZ.UTF-8", "ru_RU.UTF-8"), "en");
	cr_assert_str_eq(lang_with(NULL, "ru_RU.UTF-8", "C", "kk_KZ.UTF-8"), "ru");
	/* An empty variable is as good as unset. */
	cr_assert_str_eq(lang_with(NULL, "", "", "kk_KZ.UTF-8"), "kk");
	/* --lang wins over the locale. */
	cr_assert_str_eq(lang_with("en", "ru_RU.UTF-8", NULL, NULL), "en");
	cr_assert_str_eq(lang_with("kk", NULL, NULL, "ru_RU.UTF-8"), "kk");
	cr_assert_str_eq(lang_with("ru", NULL, NULL, NULL), "ru");
	/* Only the three languages names are published in. */
	cr_assert_eq(cli_lang("de", &lang), -EINVAL);
	cr_assert_eq(cli_lang("KK", &lang), -EINVAL);
	cr_assert_eq(cli_lang("", &lang), -EINVAL);
	cr_assert_eq(cli_lang("kk_KZ.UTF-8", &lang), -EINVAL);
}

Test(cli, contest_ids_go_into_paths_escaped)
{
	char buf[32];

	cli_path_escape("smd-otk-02", buf, sizeof(buf));
	cr_assert_str_eq(buf, "smd-otk-02");
	cli_path_escape("a b/c?d%e_f.g~", buf, sizeof(buf));
	cr_assert_str_eq(buf, "a%20b%2Fc%3Fd%25e_f.g~");
	cli_path_escape("\xd0\x90", buf, sizeof(buf));
	cr_assert_str_eq(buf, "%D0%90");
	/* Cut short, never in the middle of an escape. */
	cli_path_escape("abc/def", buf, 6);
	cr_assert_str_eq(buf, "abc");
}
