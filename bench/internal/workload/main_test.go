package workload

import "flag"

// long makes the stress tests run for seconds instead of a fraction.
var long = flag.Bool("long", false, "run stress tests for longer")
