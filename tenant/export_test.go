package tenant

import "time"

// SetDirectoryClock lets tests move the directory's clock.
func SetDirectoryClock(d *Directory, now func() time.Time) { d.now = now }
