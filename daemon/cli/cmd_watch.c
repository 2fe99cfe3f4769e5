/* cmd_watch.c: tallyctl watch (not written yet). */
#include <stdio.h>

#include "cli.h"

int cmd_watch(int argc, char **argv)
{
	fprintf(stderr, "tallyctl watch: not available in this build\n");
	return 2;
}
