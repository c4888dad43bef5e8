"""PyCOMPSs distributed streams (``pycompss.streams``) on a Dask cluster.

A stream is data that one task produces while another task (or the main program)
consumes it, both running at the same time: files appearing in a directory
(``FileDistroStream``) or pickled objects (``ObjectDistroStream``). The stream
server (:mod:`.server`) lives in the Dask scheduler, as PyCOMPSs' lives in its
master; :mod:`.transport` reaches it from the main program or from a task, and
:mod:`.distro` holds the classes users create.
"""
