package tenant

import "time"

// SetDirectoryClock lets tests move the directory's clock.
func SetDirectoryClock(d *Directory, now func() time.Time) { d.now = now }

// Profile and host checks, for the table tests.
var (
	NormalizeKana        = normalizeKana
	NormalizeBannerColor = normalizeBannerColor
	NormalizeHostName    = normalizeHostName
	CheckCustomHost      = checkCustomHost
	SlugError            = slugError
)
