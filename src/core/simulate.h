/* simulate.h - `vigil simulate`: run the scheduler offline on a config and a saved state.
 *
 * Owns: the command's arguments, the what-if events (--node-down, --node-up, --fail,
 * --standby), replaying plans to a fixed point and printing them. Must not: talk to a
 * daemon or change anything outside its output streams.
 */
#ifndef VIGIL_SIMULATE_H
#define VIGIL_SIMULATE_H

#include <stdio.h>

#include "config.h"

/* argv[0] is "simulate". Returns the exit code: 0 ok, 1 the plan did not settle,
 * 2 usage or invalid input (message on err naming what and where). */
int vg_simulate_main(int argc, char **argv, const vg_agent_info *agents, FILE *out, FILE *err);

#endif
