/* process.h - the native `process` resource: one supervised command.
 *
 * Owns: starting a command in its own session with its output in a log file, seeing its
 * exit the moment it happens (libuv's child watcher for our children, a pidfd for a process
 * adopted after a restart of vigild), signalling its process group, and the record in the
 * data directory that makes adoption possible. Must not: decide restarts (the supervisor
 * does, with back-off) or block.
 */
#ifndef VIGIL_PROCESS_H
#define VIGIL_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

/* ---- types ---------------------------------------------------------------- */

/* exit_status / term_signal are -1 when unknown (an adopted process is not our child). */
typedef void (*vg_proc_exit_cb)(void *arg, int exit_status, int term_signal);

typedef struct vg_proc vg_proc;

/* ---- functions ------------------------------------------------------------ */

/* Run `/bin/sh -c "exec COMMAND"` detached, stdout+stderr appended to log_path. */
vg_proc *vg_proc_spawn(uv_loop_t *loop, const char *command, const char *log_path,
		       vg_proc_exit_cb cb, void *arg, char *err, size_t errlen);
/* Watch an existing process (not our child). NULL when it is gone. */
vg_proc *vg_proc_adopt(uv_loop_t *loop, pid_t pid, vg_proc_exit_cb cb, void *arg);

pid_t vg_proc_pid(const vg_proc *p);
bool vg_proc_alive(const vg_proc *p);
/* Signal the process group (the command and what it forked). */
void vg_proc_signal(vg_proc *p, int sig);
/* SIGKILL the process group, even once the command itself has exited (what it forked may
 * live on in its group). Call before vg_proc_release, as soon as the exit is known: the
 * group's id is the command's PID, free for reuse only once the group is empty. */
void vg_proc_kill_group(vg_proc *p);
/* Stop watching and free (the process itself is left alone). No callback fires after. */
void vg_proc_release(vg_proc *p);

/* Adoption record DIR/NAME.pid: "PID STARTTIME". Write: 0 ok. Read: the PID when the
 * recorded process still exists with the same start time, else 0 (record removed). */
int vg_proc_record_write(const char *dir, const char *name, pid_t pid);
pid_t vg_proc_record_read(const char *dir, const char *name);
void vg_proc_record_remove(const char *dir, const char *name);

#endif
