/*
 * controller.h — the active controller's decisions (DESIGN.md §2 "Metadata").
 *
 * Runs on the broker that leads the controller quorum.  It holds `latest`: the
 * committed metadata image plus every record it has appended but that is not
 * committed yet, so consecutive decisions see each other.  Each request handler
 * validates against `latest`, writes the records it decides on into the caller's
 * record buffer (and applies them to `latest`), and fills the response; the broker
 * appends those records to the metadata log (raft_append) and sends the response
 * only once they are committed.  A handler that writes no records may be answered
 * at once.  When this broker loses the quorum leadership the controller is
 * destroyed; a new one starts from the committed image.
 *
 * Decisions, as Kafka's KRaft controller makes them:
 * - BrokerRegistration: RegisterBrokerRecord, fenced; the broker epoch is the
 *   record's offset (the caller passes the offset the next record will get).
 *   A re-registration (restart) also leaves every ISR and leadership at once.
 *   Errors: INVALID_REQUEST (id outside 1..METADATA_BROKERS_MAX, host too long).
 * - BrokerHeartbeat: refreshes the session; unfences (UnfenceBrokerRecord) a
 *   registered broker whose current_metadata_offset has caught up (>= its broker
 *   epoch, the offset of its registration); a broker whose
 *   heartbeats stop for session_timeout_ms is fenced by controller_on_timer
 *   (FenceBrokerRecord) and removed from every ISR.  want_fence / want_shut_down
 *   fence an alive broker the same way (should_shut_down = 1 once fenced).  An
 *   unknown id or a wrong broker epoch: STALE_BROKER_EPOCH (Kafka's checkBrokerEpoch).
 * - Leader election: when a leader is fenced, the first replica (in replica order)
 *   that is in the ISR and alive leads at leader_epoch + 1; if none, the partition
 *   goes offline (leader -1, ISR keeps its last member) unless
 *   unclean_leader_election, which picks the first alive replica (ISR = {it}).
 *   When a broker is unfenced, offline partitions it can lead are elected.
 * - AlterPartition: from the current leader, at the current leader epoch and
 *   partition epoch; the new ISR must contain the leader and only alive replicas.
 *   PartitionChangeRecord (none, and an immediate answer, if the ISR is unchanged);
 *   errors FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, INELIGIBLE_REPLICA,
 *   NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID for v2+),
 *   INVALID_REQUEST (ISR without the leader, a non-replica, a duplicate),
 *   NOT_CONTROLLER (epochs ahead of `latest`), and top-level STALE_BROKER_EPOCH.
 *   Versions 0..3: names in v0-1, topic ids in v2+, v3 member epochs checked.
 * - CreateTopics: TopicRecord + PartitionRecords; replicas assigned round robin
 *   over alive brokers (partition p, replica k -> alive[(start + p + k) % n],
 *   start drawn from `random`); errors TOPIC_ALREADY_EXISTS, INVALID_PARTITIONS,
 *   INVALID_REPLICATION_FACTOR, INVALID_TOPIC_EXCEPTION, INVALID_REQUEST
 *   (a name twice in one request), INVALID_REPLICA_ASSIGNMENT (explicit assignments).
 * - DeleteTopics: RemoveTopicRecord; UNKNOWN_TOPIC_OR_PARTITION (v0-5 names, v6
 *   names or ids: UNKNOWN_TOPIC_ID).
 * One call writes at most CONTROLLER_RECORDS_MAX records: CreateTopics refuses a
 * topic that would overflow (INVALID_PARTITIONS); fencing asserts it fits.
 */
#ifndef STREAMLAB_CONTROLLER_H
#define STREAMLAB_CONTROLLER_H

#include <stdint.h>

#include "arena.h"
#include "kafka_messages.gen.h"
#include "metadata_image.h"
#include "wire.h"

typedef struct controller controller;

typedef struct controller_config {
    int32_t node_id;
    int64_t session_timeout_ms; /* broker.session.timeout.ms, 9000 */
    int unclean_leader_election;
    int32_t default_partitions;
    int32_t default_replication_factor;
} controller_config;

/* Records decided by one call: framed values back to back in `buf`, value i at
 * [starts[i], starts[i+1]) with starts[count] = buf.len. */
#define CONTROLLER_RECORDS_MAX 4096
typedef struct controller_records {
    wire_writer buf;
    size_t starts[CONTROLLER_RECORDS_MAX + 1];
    int32_t count;
} controller_records;

void controller_records_init(controller_records *r);
void controller_records_reset(controller_records *r);
void controller_records_deinit(controller_records *r);

/* Starts from a copy of the committed image; now_us starts every broker's session. */
controller *controller_create(const controller_config *cfg, const metadata_image *committed,
                              int64_t now_us);
void controller_destroy(controller *c);
const metadata_image *controller_latest(const controller *c);

/* next_offset: the offset the first record appended now will get. */
void controller_handle_broker_registration(controller *c,
                                           const kafka_broker_registration_request *req,
                                           kafka_broker_registration_response *out,
                                           controller_records *recs, int64_t next_offset,
                                           int64_t now_us);
void controller_handle_broker_heartbeat(controller *c, const kafka_broker_heartbeat_request *req,
                                        kafka_broker_heartbeat_response *out,
                                        controller_records *recs, int64_t now_us);
void controller_handle_alter_partition(controller *c, const kafka_alter_partition_request *req,
                                       int16_t version, kafka_alter_partition_response *out,
                                       controller_records *recs, arena *a);
/* Kafka's Topic.validate: 1..249 of [a-zA-Z0-9._-], not "." or "..". */
int controller_topic_name_valid(kafka_str name);
void controller_handle_create_topics(controller *c, const kafka_create_topics_request *req,
                                     int16_t version, kafka_create_topics_response *out,
                                     controller_records *recs, arena *a, uint64_t random);
void controller_handle_delete_topics(controller *c, const kafka_delete_topics_request *req,
                                     int16_t version, kafka_delete_topics_response *out,
                                     controller_records *recs, arena *a);

/* Fences brokers whose session expired (and re-elects their partitions). */
void controller_on_timer(controller *c, controller_records *recs, int64_t now_us);
int64_t controller_next_deadline_us(const controller *c);

#endif
