/*
 * Real Kafka brokers for Palisade's tests: librdkafka's mock cluster, which speaks the Kafka
 * wire protocol (produce, fetch, consumer groups, offsets) on loopback.
 *
 *   kafka-mock-cluster BROKERS TOPIC:PARTITIONS [TOPIC:PARTITIONS...]
 *
 * Prints one line, "bootstraps HOST:PORT,HOST:PORT,...", once the topics exist. Then reads
 * commands on stdin, one per line, and answers each with "ok COMMAND":
 *   down   every broker refuses connections (rd_kafka_mock_broker_set_down)
 *   up     every broker accepts them again
 * Exits when stdin closes or on SIGTERM/SIGINT.
 *
 * Topics are created here because Debian's librdkafka 2.0.2 mock cluster reports no valid
 * controller, so a client's CreateTopics request fails against it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static void set_all(rd_kafka_mock_cluster_t *cluster, int brokers, int up) {
    for (int id = 1; id <= brokers; id++) {
        if (up)
            rd_kafka_mock_broker_set_up(cluster, id);
        else
            rd_kafka_mock_broker_set_down(cluster, id);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s BROKERS [TOPIC:PARTITIONS...]\n", argv[0]);
        return 2;
    }
    int brokers = atoi(argv[1]);
    if (brokers < 1) {
        fprintf(stderr, "expected a broker count of at least 1, got \"%s\"\n", argv[1]);
        return 2;
    }

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* The mock cluster needs a client instance to run in; it never connects anywhere. */
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "%s\n", errstr);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "cannot create the librdkafka instance: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (!cluster) {
        fprintf(stderr, "cannot create a mock cluster of %d brokers\n", brokers);
        return 1;
    }

    for (int i = 2; i < argc; i++) {
        char *spec = argv[i];
        char *colon = strrchr(spec, ':');
        int partitions = colon ? atoi(colon + 1) : 0;
        if (!colon || colon == spec || partitions < 1) {
            fprintf(stderr, "expected TOPIC:PARTITIONS, got \"%s\"\n", spec);
            return 2;
        }
        *colon = '\0';
        int replication = brokers < 3 ? brokers : 3;
        rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(cluster, spec, partitions, replication);
        if (err) {
            fprintf(stderr, "cannot create topic %s: %s\n", spec, rd_kafka_err2str(err));
            return 1;
        }
    }

    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    printf("bootstraps %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);

    char line[64];
    while (!stopping && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strcmp(line, "down") == 0)
            set_all(cluster, brokers, 0);
        else if (strcmp(line, "up") == 0)
            set_all(cluster, brokers, 1);
        else {
            printf("unknown command \"%s\": expected down or up\n", line);
            fflush(stdout);
            continue;
        }
        printf("ok %s\n", line);
        fflush(stdout);
    }

    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return 0;
}
