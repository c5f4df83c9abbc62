"""PostgreSQL: the app's tables (`appdb`), a server and the databases made there (`server`),
and the development server the project runs itself (`devdb`)."""
