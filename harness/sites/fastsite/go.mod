module mta-harness/site

go 1.22
