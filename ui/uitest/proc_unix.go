//go:build unix

package uitest

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts the script in its own process group, so that a timeout kills node and
// every Chromium process under it rather than leaving them behind.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
