package slots

import "syscall"

// childAttr makes the kernel kill the child when the supervisor dies
// (SIGKILL, a crash), so that a restarted supervisor never finds an old
// child still running beside the one it starts.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
