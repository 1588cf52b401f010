"""Server versions for the local services and the Docker compose file: pinned here, in one place.

Elasticsearch stays on 8.19.x: Maven Central publishes no 9.x integ-test zip (metadata stops at
8.19.21), 8.19 runs on the default Java 17, and the Python client is pinned `elasticsearch>=8.19,<9`
to match the server's major. Keep `deploy/docker-compose.yml` on the same versions.
"""

KAFKA = "4.4.0"  # org.apache.kafka:kafka_2.13
LOG4J = "2.25.5"  # the log4j-core that kafka_2.13 4.4.0 pulls in; log4j-slf4j-impl must match it
ELASTICSEARCH = "8.19.21"  # org.elasticsearch.distribution.integ-test-zip:elasticsearch:<v>:zip

KAFKA_HEAP = "512m"
ES_HEAP = "1g"
