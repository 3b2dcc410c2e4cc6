/*
 * Ingest a checkpoint through the durable queue: the call returns once
 * the event is on disk, and the queue sends it in the background, for as
 * long as Flock takes to answer (across restarts: the spool keeps it).
 *
 *   await sdk.checkpoints.ingest('purchase_completed', {
 *     externalUserId: 'user_123', environment: 'production' });
 *
 * Usage: queue_ingest [external_user_id [checkpoint_name]]
 * The spool is FLOCK_QUEUE_SPOOL, or flock-queue.spool here.
 */
#include "example.h"

/* Called once per event, from a sender thread: say how it went. */
static void on_report(const flock_queue_report *r, void *userdata)
{
	static const char *const outcome[] = {"sent", "failed", "expired",
	                                      "dropped", "unsent"};

	(void)userdata;
	printf("%s for %s: %s after %d attempt(s)", r->checkpoint_name,
	       r->external_user_id, outcome[r->outcome], r->attempts);
	if (r->outcome != FLOCK_QUEUE_SENT && r->message != NULL)
		printf(" (%s)", r->message);
	printf("\n");
}

int main(int argc, char **argv)
{
	flock_queue_options qopts = FLOCK_QUEUE_OPTIONS_INIT;
	flock_ingest_params params = FLOCK_INGEST_PARAMS_INIT;
	const char *name = argc > 2 ? argv[2] : "purchase_completed";
	flock_client *client = NULL;
	flock_queue *queue = NULL;
	int rc, status = 1;

	if (example_client_new(&client) != 0)
		return 1;
	/* Once at start-up, next to the client; share it between threads. */
	qopts.spool_path = example_getenv("FLOCK_QUEUE_SPOOL",
	                                  "flock-queue.spool");
	qopts.report_cb = on_report;
	rc = flock_queue_new(&queue, client, &qopts);
	if (rc != 0) {
		status = example_fail("flock_queue_new", rc);
		goto done;
	}
	/* In the request path: returns in well under a millisecond. */
	params.external_user_id = argc > 1 ? argv[1] : "user_123";
	params.environment = example_environment();
	rc = flock_queue_ingest(queue, name, &params);
	if (rc != 0) {
		status = example_fail("flock_queue_ingest", rc);
		goto done;
	}
	printf("%s for %s queued\n", name, params.external_user_id);
	status = 0;
done:
	/* At shutdown: up to 10 s to send; what is left stays in the spool. */
	rc = flock_queue_free(queue, 10000);
	if (rc == FLOCK_ETIMEOUT)
		printf("not sent yet: kept in %s for the next run\n",
		       qopts.spool_path);
	flock_client_free(client);
	return status;
}
