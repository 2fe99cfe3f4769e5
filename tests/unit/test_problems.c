/*
 * Tests for the node's last-problems ring (daemon/node/problems.c): newest
 * first, at most PROBLEMS_MAX kept, a repeated problem counted on one
 * entry, and text that is not UTF-8 still makes a valid JSON document.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "node/problems.h"

Test(problems, problems_come_newest_first_and_the_oldest_drop_out)
{
	struct problems s;
	json_t *a;

	memset(&s, 0, sizeof(s));
	for (int i = 1; i <= PROBLEMS_MAX + 3; i++)
		problems_add(&s, "uplink", "problem %d", i);
	a = problems_json(&s);
	cr_assert_eq(json_array_size(a), PROBLEMS_MAX);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "text")),
	                 "problem 13");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 9), "text")),
	                 "problem 4");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "source")),
	                 "uplink");
	cr_assert_eq(strlen(json_string_value(json_object_get(json_array_get(a, 0), "at"))), 20);
	json_decref(a);
}

Test(problems, text_that_is_not_utf8_is_shown_as_ascii)
{
	struct problems s;
	json_t *a;

	memset(&s, 0, sizeof(s));
	problems_add(&s, "spool", "'%s' rejected", "\xff\xfe.csv");
	a = problems_json(&s);
	cr_assert_eq(json_array_size(a), 1);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "text")),
	                 "'??.csv' rejected");
	json_decref(a);
}

Test(problems, empty_ring_is_an_empty_array)
{
	struct problems s;
	json_t *a;

	memset(&s, 0, sizeof(s));
	a = problems_json(&s);
	cr_assert(json_is_array(a));
	cr_assert_eq(json_array_size(a), 0);
	json_decref(a);
}

Test(problems, the_same_problem_again_is_counted_not_repeated)
{
	struct problems s;
	json_t *a;

	memset(&s, 0, sizeof(s));
	problems_add(&s, "uplink", "connection refused");
	problems_add(&s, "uplink", "connection refused");
	problems_add(&s, "spool", "connection refused");
	problems_add(&s, "spool", "connection refused");
	problems_add(&s, "spool", "connection refused");
	problems_add(&s, "uplink", "connection refused");
	a = problems_json(&s);
	cr_assert_eq(json_array_size(a), 3);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, 0), "count")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, 1), "count")), 3);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "source")),
	                 "spool");
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(a, 2), "count")), 2);
	json_decref(a);
}
