//go:build !unix

package uitest

import "os/exec"

// setProcessGroup is a no-op where process groups do not exist; the timeout kills node only.
func setProcessGroup(*exec.Cmd) {}
