/* A trivial MPI program for the @mpi tests: each rank prints one line with the world size,
   its node and its arguments; rank 0 exits with the value of EXIT_WITH (default 0). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int rank, size, length, i;
    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &length);
    printf("rank %d of %d on %s:", rank, size, host);
    for (i = 1; i < argc; i++) printf(" [%s]", argv[i]);
    printf("\n");
    fflush(stdout);
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Finalize();
    return rank == 0 && getenv("EXIT_WITH") ? atoi(getenv("EXIT_WITH")) : 0;
}
