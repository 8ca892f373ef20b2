//go:build unix

package daemon

import "syscall"

// diskFree is the space available to the gateway on the file system that
// holds dir (0 if unknown).
func diskFree(dir string) uint64 {
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}
