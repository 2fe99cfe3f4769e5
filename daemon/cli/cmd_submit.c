/* cmd_submit.c: tallyctl submit (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_submit(int argc, char **argv)
{
	fprintf(stderr, "tallyctl submit: not available in this build\n");
	return 2;
}
