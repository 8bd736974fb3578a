/* Pieces of the report pages shared by report_html.c and compare.c. */
#ifndef SIGLOOP_ANALYZE_HTML_H
#define SIGLOOP_ANALYZE_HTML_H

#include "sigloop/base.h"
#include "sigloop/svg.h"

/* <!DOCTYPE html> ... <main>, with the page's style sheet inline. */
void sl_html_begin(sl_text *t, const char *title);
/* A footer, and the end of the page. */
void sl_html_end(sl_text *t, const char *footer);
/* A headline figure: what it is, its value, a note under it. */
void sl_html_card(sl_text *t, const char *what, const char *value, const char *note);
/* Writes the page atomically (an allocation failed while writing it: SL_ENOMEM). */
sl_status sl_html_save(const sl_text *t, const char *path);

#endif
