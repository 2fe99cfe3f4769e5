/* cmd_verify.c: tallyctl verify (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_verify(int argc, char **argv)
{
	fprintf(stderr, "tallyctl verify: not available in this build\n");
	return 2;
}
