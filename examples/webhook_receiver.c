/*
 * Receive and verify Flock webhooks: the Node SDK's Express example
 * (POST /webhooks/flock, sdk.webhooks.constructEvent) as a small
 * libmicrohttpd server.
 *
 * Usage: webhook_receiver [-p port] [-b address] [-o events.jsonl]
 *   -p  port (default FLOCK_WEBHOOK_PORT, else 8787; 0: any free port)
 *   -b  address to listen on (default 127.0.0.1)
 *   -o  append each verified event to this file, one JSON object a line
 * The secret ("whsec_...") comes from FLOCK_WEBHOOK_SECRET.
 *
 * Answers: 401 {"error":"Missing signature header"} when the delivery has
 * no signature header, 400 {"error":<why>} when it does not verify, 200
 * {"received":true} when it does. Stops cleanly on SIGINT or SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include <flock.h>

#define MAX_BODY (1024 * 1024) /* flockd's own request limit */

typedef struct {
	const char *secret;
	FILE *events; /* NULL: do not record */
} receiver;

/* One request's body, as it arrives. */
typedef struct {
	char *data;
	size_t len;
	int too_large;
} body;

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
                             json_t *obj)
{
	struct MHD_Response *resp;
	enum MHD_Result ret = MHD_NO;
	char *text = json_dumps(obj, JSON_COMPACT);

	json_decref(obj);
	if (text == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	                                       MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, "Content-Type", "application/json") ==
	    MHD_YES)
		ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *conn,
                                   unsigned int status, const char *msg)
{
	return reply(conn, status, json_pack("{s:s}", "error", msg));
}

/* Append the verified event as one JSON line; flushed so readers see it. */
static void record(FILE *f, const flock_event *ev)
{
	json_t *data = json_loads(flock_event_data_json(ev), 0, NULL);
	json_t *line = json_pack(
	        "{s:s, s:s, s:I, s:s?, s:o?}", "id", flock_event_id(ev), "name",
	        flock_event_name(ev), "timestamp",
	        (json_int_t)flock_event_timestamp_ms(ev), "environment",
	        flock_event_environment(ev), "data", data);
	char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;

	if (text == NULL || fprintf(f, "%s\n", text) < 0 || fflush(f) != 0)
		fprintf(stderr, "could not record event %s\n",
		        flock_event_id(ev));
	free(text);
	json_decref(line);
}

static void handle_event(const receiver *r, const flock_event *ev)
{
	const char *invitee = flock_event_get_string(ev, "invitee.id");

	if (strcmp(flock_event_name(ev), "invitee.accepted") == 0 && invitee)
		printf("Invitee %s accepted an invitation\n", invitee);
	else
		printf("Received event %s\n", flock_event_name(ev));
	fflush(stdout);
	if (r->events != NULL)
		record(r->events, ev);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result verify(const receiver *r, struct MHD_Connection *conn,
                              const body *b)
{
	flock_webhook_params params = FLOCK_WEBHOOK_PARAMS_INIT;
	flock_event *ev = NULL;
	const flock_error *err;
	int rc;

	params.payload = b->data ? b->data : "";
	params.payload_len = b->len;
	params.secret = r->secret;
	params.signature = header(conn, "X-Flock-Signature");
	params.webhook_id = header(conn, "webhook-id");
	params.webhook_timestamp = header(conn, "webhook-timestamp");
	params.webhook_signature = header(conn, "webhook-signature");
	if (params.signature == NULL && params.webhook_signature == NULL)
		return reply_error(conn, 401, "Missing signature header");

	rc = flock_webhooks_construct_event(&ev, &params);
	if (rc != 0) {
		err = flock_error_last();
		fprintf(stderr, "Webhook error: %s\n",
		        err ? err->message : flock_strerror(rc));
		return reply_error(conn, 400,
		                   err ? err->message : flock_strerror(rc));
	}
	handle_event(r, ev);
	flock_event_free(ev);
	return reply(conn, 200, json_pack("{s:b}", "received", 1));
}

static int body_append(body *b, const char *data, size_t len)
{
	char *p;

	if (b->too_large || len > MAX_BODY - b->len) {
		b->too_large = 1;
		return 0;
	}
	p = realloc(b->data, b->len + len + 1);
	if (p == NULL)
		return -1;
	memcpy(p + b->len, data, len);
	b->len += len;
	p[b->len] = '\0';
	b->data = p;
	return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_len, void **state)
{
	body *b = *state;

	if (strcmp(url, "/webhooks/flock") != 0)
		return reply_error(conn, 404, "Not found");
	if (strcmp(method, "POST") != 0)
		return reply_error(conn, 405, "Method not allowed");
	if (b == NULL) { /* first call: headers only */
		b = calloc(1, sizeof(*b));
		*state = b;
		return b ? MHD_YES : MHD_NO;
	}
	if (*upload_len > 0) {
		if (body_append(b, upload, *upload_len) != 0)
			return MHD_NO;
		*upload_len = 0;
		return MHD_YES;
	}
	if (b->too_large)
		return reply_error(conn, 413, "Payload too large");
	return verify(cls, conn, b);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode toe)
{
	body *b = *state;

	if (b != NULL) {
		free(b->data);
		free(b);
		*state = NULL;
	}
}

typedef struct {
	long port;
	const char *address;
	const char *events_path;
} config;

static int parse_args(config *c, int argc, char **argv)
{
	const char *port = getenv("FLOCK_WEBHOOK_PORT");
	char *end;
	int opt;

	c->address = "127.0.0.1";
	while ((opt = getopt(argc, argv, "p:b:o:")) != -1) {
		if (opt == 'p')
			port = optarg;
		else if (opt == 'b')
			c->address = optarg;
		else if (opt == 'o')
			c->events_path = optarg;
		else
			return -1;
	}
	if (port == NULL)
		port = "8787";
	errno = 0;
	c->port = strtol(port, &end, 10);
	if (errno != 0 || *end != '\0' || c->port < 0 || c->port > 65535)
		return -1;
	return 0;
}

static struct MHD_Daemon *start(const config *c, receiver *r)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)c->port);
	if (inet_pton(AF_INET, c->address, &sa.sin_addr) != 1) {
		fprintf(stderr, "not an IPv4 address: %s\n", c->address);
		return NULL;
	}
	return MHD_start_daemon(
	        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
	        (uint16_t)c->port, NULL, NULL, on_request, r,
	        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
}

int main(int argc, char **argv)
{
	config cfg = {0, NULL, NULL};
	receiver r = {NULL, NULL};
	struct MHD_Daemon *daemon = NULL;
	const union MHD_DaemonInfo *info;
	sigset_t stop;
	int sig, status = 1;

	r.secret = getenv("FLOCK_WEBHOOK_SECRET");
	if (parse_args(&cfg, argc, argv) != 0 || r.secret == NULL) {
		fprintf(stderr,
		        "usage: FLOCK_WEBHOOK_SECRET=whsec_... %s "
		        "[-p port] [-b address] [-o events.jsonl]\n",
		        argv[0]);
		return 2;
	}
	if (cfg.events_path != NULL) {
		r.events = fopen(cfg.events_path, "a");
		if (r.events == NULL) {
			perror(cfg.events_path);
			return 1;
		}
	}
	/* Block the stop signals in every thread; main waits for them below. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	daemon = start(&cfg, &r);
	if (daemon == NULL) {
		fprintf(stderr, "could not listen on %s:%ld\n", cfg.address,
		        cfg.port);
		goto done;
	}
	info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	printf("Listening on http://%s:%u/webhooks/flock\n", cfg.address,
	       info ? (unsigned int)info->port : (unsigned int)cfg.port);
	fflush(stdout);
	if (sigwait(&stop, &sig) == 0)
		status = 0;
done:
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
	if (r.events != NULL)
		fclose(r.events);
	return status;
}
