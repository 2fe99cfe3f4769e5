/* cmd_status.c: tallyctl status (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_status(int argc, char **argv)
{
	fprintf(stderr, "tallyctl status: not available in this build\n");
	return 2;
}
