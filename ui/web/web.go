// Package web is the core every console of the web front end shares: translations, embedded
// static assets, html/template views, the one error handler, Redis-backed sessions with CSRF
// tokens, and the middleware every request passes (request id, security headers, access log and
// metrics, flood limits). The consoles (the city's pages in package ui, and each other host's
// console in its own package under ui/) build on it; it knows no console.
package web

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// Core holds what the consoles share: the logger, translations, assets and request metrics.
type Core struct {
	Log     *slog.Logger
	Locales Locales
	Assets  *Assets
	metrics *httpMetrics
	// errorPages renders the error page where no console has claimed the request (an unknown
	// host, a probe path); see SetErrorPages.
	errorPages ErrorPages
}

// New loads the translations and assets and registers the request metrics. It fails when a
// translation or asset is broken, so a bad build never starts serving.
func New(log *slog.Logger, reg prometheus.Registerer) (*Core, error) {
	loc, err := LoadLocales()
	if err != nil {
		return nil, err
	}
	as, err := LoadAssets()
	if err != nil {
		return nil, err
	}
	m, err := newHTTPMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Core{Log: log, Locales: loc, Assets: as, metrics: m}, nil
}
