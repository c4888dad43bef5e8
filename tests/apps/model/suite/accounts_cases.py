import os
import tempfile
import unittest

from pycompss.api.api import compss_wait_on
from pycompss.api.parameter import IN
from pycompss.api.task import task


class Account:
    def __init__(self):
        self.balance = 0
        log = os.path.join(tempfile.gettempdir(), "eflows-account.log")
        self.log = open(log, "a")  # noqa: SIM115 - an open stream as an attribute

    @task()
    def deposit(self, amount):
        self.balance += amount
        self.log.write(f"deposit {amount}\n")

    @task(target_direction=IN, returns=1)
    def report(self):
        return f"balance {self.balance}"


class TestAccounts(unittest.TestCase):
    """Tasks that are methods of the TestCase: self holds the runner's result stream."""

    @task(returns=1)
    def interest(self, balance, rate):
        return round(balance * rate, 2)

    @task()
    def remember(self, value):
        self.remembered = value

    def test_deposits(self):
        account = Account()
        for amount in (10, 20, 30):
            account.deposit(amount)
        report = account.report()
        account = compss_wait_on(account)
        self.assertEqual(account.balance, 60)
        self.assertEqual(compss_wait_on(report), "balance 60")

    def test_method_of_the_test_case(self):
        self.assertEqual(compss_wait_on(self.interest(200, 0.05)), 10.0)

    def test_self_is_inout(self):
        self.remember(42)
        compss_wait_on(self)
        self.assertEqual(self.remembered, 42)
