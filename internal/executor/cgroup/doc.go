// Package cgroup bounds what one job of the local executor may use — memory, processes, CPU — with the kernel's
// control groups, on cgroup v1 (including the hybrid layout: v1 controllers beside an empty cgroup2 at
// /sys/fs/cgroup/unified) and on cgroup v2.
//
// A Manager owns one parent group per server, "runplane-<name>", created under the server's own group in every
// hierarchy it uses (so the server's own limits still bound its jobs), and one leaf group per job below it. Open
// removes the job groups a crashed server left behind, after killing what still runs in them, and says which
// controllers are usable, or why none are (ErrUnavailable).
//
// A job must be inside its group before it runs its first instruction. On cgroup v2 (and on the cgroup2
// hierarchy of a hybrid host) the child is cloned straight into the group: Group.FD for SysProcAttr.CgroupFD.
// cgroup v1 has no such clone flag, so the forking OS thread (locked with runtime.LockOSThread) enters the job's
// v1 groups with Group.EnterThread, forks — the child starts where its parent thread is — and leaves them again
// with Group.LeaveThread. On a hybrid host both are used.
//
// What this package must never do: move, freeze or signal the server process (every kill skips the server's
// own pid, and EnterThread refuses the main thread, which would make the whole server an OOM-kill candidate of a
// job's memory group); touch a group it did not create (only names under its own parent group); or leave a
// job group behind (Remove, and Open after a crash). Limits are written once, when the group is made, before
// anything runs in it.
package cgroup
