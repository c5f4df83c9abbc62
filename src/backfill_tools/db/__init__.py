"""PostgreSQL: the app's tables (`appdb`) and the development server (`devdb`)."""
